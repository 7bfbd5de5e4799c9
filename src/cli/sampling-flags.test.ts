// The sampling flags' ranges lie within what both paths take: the HTTP API's options (a server) and the engine's
// resolveSampling (embedded), so a value the CLI accepts is never refused by one path in its own words.
import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import type { SamplingOptions } from "../engine/types.ts";
import { resolveSampling } from "../engine/resolve-sampling.ts";
import { modelParameterProblem } from "../http/routes/ollama/check-options.ts";
import { parseSamplingFlag, SAMPLING_FLAGS, samplingFlagRule, type SamplingFlag } from "./sampling-flags.ts";

/** The engine's name of each flag's option. */
const ENGINE_FIELD: Record<keyof typeof SAMPLING_FLAGS, keyof SamplingOptions> = {
  maxTokens: "maxTokens",
  temperature: "temperature",
  topP: "topP",
  topK: "topK",
  seed: "seed",
};

/** The smallest and largest value a flag takes. */
const extremes = (f: SamplingFlag) => [f.minExclusive ? f.min + 1e-9 : f.min, f.max];

describe("SAMPLING_FLAGS", () => {
  for (const [key, f] of Object.entries(SAMPLING_FLAGS) as [keyof typeof SAMPLING_FLAGS, SamplingFlag][]) {
    it(`${f.flag}: its bounds are taken by the HTTP API and the engine; just past them the flag's rule refuses`, () => {
      const parse = parseSamplingFlag(f);
      for (const v of extremes(f)) {
        expect(parse(String(v))).toBe(v);
        expect(modelParameterProblem(f.option, v), `options.${f.option} ${v}`).toBeUndefined();
        expect(() => resolveSampling({ [ENGINE_FIELD[key]]: v }), `${ENGINE_FIELD[key]} ${v}`).not.toThrow();
      }
      const past = [f.minExclusive ? f.min : f.min - 1, f.max + 1, ...(f.integer ? [f.min + 0.5] : []), NaN];
      for (const v of [...past.map(String), "", "x"])
        expect(() => parse(v), v).toThrow(new InvalidArgumentError(samplingFlagRule(f)));
    });
  }

  it("words a rule with the flag and its interval", () => {
    expect(samplingFlagRule(SAMPLING_FLAGS.topP)).toBe("--top-p must be a number in (0, 1]");
    expect(samplingFlagRule(SAMPLING_FLAGS.topK)).toBe("--top-k must be an integer in [0, 100000]");
  });
});
