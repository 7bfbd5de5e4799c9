import { describe, expect, it } from "vitest";
import { samplingOfParameters, withModelDefaults } from "./apply-modelfile.ts";

describe("a model's stored parameters as sampling options", () => {
  it("maps Ollama's names; seed -1 (Ollama's default, random) sets no seed; num_predict below 1 sets no limit", () => {
    expect(samplingOfParameters({ temperature: 0.2, top_k: 5, seed: 7, num_predict: 9, stop: "x" })).toEqual({
      temperature: 0.2,
      topK: 5,
      seed: 7,
      maxTokens: 9,
      stop: ["x"],
    });
    expect(samplingOfParameters({ seed: -1, num_predict: -1 })).toEqual({});
    // Other integers are taken modulo 2^32, llama.cpp's seed width.
    expect(samplingOfParameters({ seed: -5 })).toEqual({ seed: 2 ** 32 - 5 });
    expect(samplingOfParameters({ seed: 2 ** 32 + 7 })).toEqual({ seed: 7 });
  });

  it("the request's own values win over the model's", () => {
    expect(
      withModelDefaults({ seed: 3, temperature: undefined }, { parameters: { seed: 7, temperature: 0.5 } }),
    ).toEqual({ seed: 3, temperature: 0.5 });
  });
});
