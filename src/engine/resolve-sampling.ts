// Sampling options shared by every Engine backend: documented defaults applied, bad values rejected as RFX_VALIDATION.
import { ReflexiaError } from "../errors/index.ts";
import type { SamplingOptions } from "./types.ts";

export interface ResolvedSampling {
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  repeatPenalty: number;
  frequencyPenalty: number;
  presencePenalty: number;
  logitBias: ReadonlyArray<readonly [number, number]>;
  stop: string[];
}

/**
 * Tokens the repeat penalty looks back over, prompt included: llama.cpp's default repeat_last_n. Fixed (not a
 * request option); both engines use this one value.
 */
export const REPEAT_LAST_N = 64;

/** The defaults declared on SamplingOptions in types.ts; keep the two in step. */
export const SAMPLING_DEFAULTS = {
  maxTokens: 256,
  temperature: 0.8,
  topP: 0.95,
  topK: 40,
  repeatPenalty: 1.1,
  frequencyPenalty: 0,
  presencePenalty: 0,
} as const;

/** The bias a logit_bias entry may carry (OpenAI's range). */
export const LOGIT_BIAS_BOUND = 100;

function check(ok: boolean, field: string, rule: string, value: unknown): void {
  if (!ok)
    throw new ReflexiaError("RFX_VALIDATION", `${field} must be ${rule} (got ${JSON.stringify(value)})`, { field });
}

export function resolveSampling(o: SamplingOptions = {}): ResolvedSampling {
  const r = {
    maxTokens: o.maxTokens ?? SAMPLING_DEFAULTS.maxTokens,
    temperature: o.temperature ?? SAMPLING_DEFAULTS.temperature,
    topP: o.topP ?? SAMPLING_DEFAULTS.topP,
    topK: o.topK ?? SAMPLING_DEFAULTS.topK,
    // A random seed per call unless fixed: node-llama-cpp would otherwise seed from the clock, so concurrent
    // calls in the same millisecond would sample identically.
    seed: o.seed ?? Math.floor(Math.random() * 0x7fffffff),
    repeatPenalty: o.repeatPenalty ?? SAMPLING_DEFAULTS.repeatPenalty,
    frequencyPenalty: o.frequencyPenalty ?? SAMPLING_DEFAULTS.frequencyPenalty,
    presencePenalty: o.presencePenalty ?? SAMPLING_DEFAULTS.presencePenalty,
    logitBias: o.logitBias ?? [],
    stop: o.stop ?? [],
  };
  check(Number.isInteger(r.maxTokens) && r.maxTokens >= 0, "maxTokens", "an integer >= 0", o.maxTokens);
  check(Number.isFinite(r.temperature) && r.temperature >= 0, "temperature", "a number >= 0", o.temperature);
  check(Number.isFinite(r.topP) && r.topP > 0 && r.topP <= 1, "topP", "a number in (0, 1]", o.topP);
  check(Number.isInteger(r.topK) && r.topK >= 0, "topK", "an integer >= 0", o.topK);
  check(Number.isInteger(r.seed) && r.seed >= 0 && r.seed <= 0xffffffff, "seed", "an integer in [0, 2^32)", o.seed);
  check(Number.isFinite(r.repeatPenalty) && r.repeatPenalty > 0, "repeatPenalty", "a number > 0", o.repeatPenalty);
  check(Number.isFinite(r.frequencyPenalty), "frequencyPenalty", "a number", o.frequencyPenalty);
  check(Number.isFinite(r.presencePenalty), "presencePenalty", "a number", o.presencePenalty);
  check(
    Array.isArray(r.logitBias) &&
      r.logitBias.every(
        (e) =>
          Array.isArray(e) &&
          e.length === 2 &&
          Number.isInteger(e[0]) &&
          e[0] >= 0 &&
          Number.isFinite(e[1]) &&
          Math.abs(e[1]) <= LOGIT_BIAS_BOUND,
      ),
    "logitBias",
    `a list of [token id >= 0, bias in [-${LOGIT_BIAS_BOUND}, ${LOGIT_BIAS_BOUND}]] pairs`,
    o.logitBias,
  );
  check(Array.isArray(r.stop) && r.stop.every((s) => typeof s === "string"), "stop", "an array of strings", o.stop);
  return r;
}

/** Refuses logit_bias ids the model does not have, naming the first and the vocabulary's size. */
export function checkLogitBiasIds(bias: ResolvedSampling["logitBias"], vocabSize: number): void {
  const bad = bias.find(([id]) => id >= vocabSize);
  if (bad)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `logit_bias names token ${bad[0]}, but this model's vocabulary has ${vocabSize} tokens (ids 0 to ${vocabSize - 1})`,
      { field: "logit_bias" },
    );
}
