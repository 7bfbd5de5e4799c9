// The sampling flags of `generate` and `chat`, checked once here, when commander parses them: before a server or
// the embedded engine sees a value, so both modes refuse a bad one with the same line in the flag's terms (the
// server's "options.top_p must be > 0" and the engine's "topP must be a number in (0, 1]" are never reached).
import { InvalidArgumentError } from "commander";

export interface SamplingFlag {
  /** The flag as typed, e.g. `--top-p`. */
  flag: string;
  /** The Ollama option (HTTP API `options.<name>`) the value is sent as through a server. */
  option: string;
  integer: boolean;
  min: number;
  /** The minimum itself is refused (top_p 0 would keep no token). */
  minExclusive?: boolean;
  max: number;
}

/**
 * Each range lies within the HTTP API's (ollamaOptionsSchema) and the engine's (engine/resolve-sampling.ts), so a
 * value this accepts is accepted by both paths; sampling-flags.test.ts holds them so.
 */
export const SAMPLING_FLAGS = {
  maxTokens: { flag: "--max-tokens", option: "num_predict", integer: true, min: 1, max: 1 << 20 },
  temperature: { flag: "--temperature", option: "temperature", integer: false, min: 0, max: 10 },
  topP: { flag: "--top-p", option: "top_p", integer: false, min: 0, minExclusive: true, max: 1 },
  topK: { flag: "--top-k", option: "top_k", integer: true, min: 0, max: 100_000 },
  seed: { flag: "--seed", option: "seed", integer: true, min: 0, max: 2 ** 31 - 1 },
} as const satisfies Record<string, SamplingFlag>;

/** The rule of a flag, e.g. `--top-p must be a number in (0, 1]`. */
export function samplingFlagRule(f: SamplingFlag): string {
  return `${f.flag} must be ${f.integer ? "an integer" : "a number"} in ${f.minExclusive ? "(" : "["}${f.min}, ${f.max}]`;
}

/** Commander's parser for a sampling flag: the number, or the flag's rule as an invalid-argument error. */
export function parseSamplingFlag(f: SamplingFlag) {
  return (v: string): number => {
    const n = v.trim() === "" ? NaN : Number(v);
    const ok =
      (f.integer ? Number.isInteger(n) : Number.isFinite(n)) && (f.minExclusive ? n > f.min : n >= f.min) && n <= f.max;
    if (!ok) throw new InvalidArgumentError(samplingFlagRule(f));
    return n;
  };
}
