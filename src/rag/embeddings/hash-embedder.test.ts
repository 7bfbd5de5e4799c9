import { describe, expect, it } from "vitest";
import { registerEmbedderConformance } from "./embedder-conformance.ts";
import { dot, toFloat32 } from "./embedder.ts";
import { createHashEmbedder } from "./hash-embedder.ts";

registerEmbedderConformance("hash (384)", async () => createHashEmbedder({ dim: 384 }));
registerEmbedderConformance("hash (64)", async () => createHashEmbedder({ dim: 64 }));

describe("createHashEmbedder", () => {
  it("names its vector space by version and dimension", () => {
    expect(createHashEmbedder().id).toBe("hash-v1-384");
    expect(createHashEmbedder({ dim: 128 }).dim).toBe(128);
    expect(() => createHashEmbedder({ dim: 3 })).toThrow(RangeError);
  });

  it("matches a paraphrased question to the passage holding its answer among distractors", async () => {
    const e = createHashEmbedder();
    const passages = [
      "The capital of the fictional country Zorvania is Blenport, a harbour city on the eastern coast.",
      "The capital of the fictional country Quellmark is Varnholt, known for its glass towers.",
      "Zorbing is a sport in which a person rolls downhill inside a large transparent ball.",
      "Ports on the eastern coast handle most of the country's grain exports.",
    ];
    const [q, ...ps] = (await e.embed(["Which city is Zorvania's capital?", ...passages])).map(toFloat32);
    const scores = ps.map((p) => dot(q, p));
    expect(scores.indexOf(Math.max(...scores))).toBe(0);
  });

  it("folds case, accents and common inflections", async () => {
    const e = createHashEmbedder();
    const [a, b, c] = (await e.embed(["Café exports", "cafe EXPORTED", "submarine telemetry"])).map(toFloat32);
    expect(dot(a, b)).toBeGreaterThan(0.5);
    expect(dot(a, b)).toBeGreaterThan(dot(a, c) + 0.4);
  });
});
