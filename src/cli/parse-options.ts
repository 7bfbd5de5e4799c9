// Commander option parsers that reject bad numbers and quantization names with the flag named.
import { InvalidArgumentError } from "commander";
import { normalizeQuantization, type Quantization } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";

export function parseIntOption(flag: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be an integer in [${min}, ${max}]`);
    return n;
  };
}

export function parseNumberOption(flag: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be a number in [${min}, ${max}]`);
    return n;
  };
}

export function parseListOption(v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * A comma-separated list of quantizations, each taken as `create -q` and the HTTP API take one (normalizeQuantization:
 * any case, so Q4_K_M is q4_k_m); an unknown name is refused with the flag and the supported names.
 */
export function parseQuantizationList(flag: string, value: string): Quantization[] {
  return parseListOption(value).map((q) => {
    try {
      return normalizeQuantization(q);
    } catch (e) {
      throw new ReflexiaError("RFX_VALIDATION", `${flag}: ${(e as Error).message}`, { flag, quantization: q });
    }
  });
}
