import { describe, expect, it } from "vitest";
import { isReflexiaError } from "../../errors/index.ts";
import { createApproxTokenizer } from "../chunking/tokenizer.ts";
import type { SearchHit } from "../store/vector-store.ts";
import { buildRagPrompt, type CitableResult } from "./build-rag-prompt.ts";
import { reciprocalRankFusion } from "./reciprocal-rank-fusion.ts";

const hit = (id: string, score: number): SearchHit => ({
  chunk: { id, documentId: `d-${id}`, index: 0, text: id, start: 0, end: id.length, tokenCount: 1 },
  score,
});

describe("reciprocalRankFusion", () => {
  it("sums 1/(k + rank) over lists, so agreement beats a single first place", () => {
    const fused = reciprocalRankFusion({
      vector: [hit("a", 0.9), hit("b", 0.8), hit("c", 0.7)],
      text: [hit("c", 12), hit("b", 10)],
    });
    // c: 1/63 + 1/61 = 0.032266 > b: 1/62 + 1/62 = 0.032258 > a: 1/61.
    expect(fused.map((h) => h.chunk.id)).toEqual(["c", "b", "a"]);
    expect(fused[0].score).toBeCloseTo(1 / 63 + 1 / 61, 12);
    expect(fused[1].scores).toEqual({ vector: 0.8, text: 10 });
    expect(fused[2].scores).toEqual({ vector: 0.9 });
  });

  it("honours k and limit", () => {
    const fused = reciprocalRankFusion({ x: [hit("a", 1), hit("b", 1)] }, { k: 0, limit: 1 });
    expect(fused).toHaveLength(1);
    expect(fused[0].score).toBe(1);
    expect(reciprocalRankFusion({})).toEqual([]);
  });
});

const result = (n: number, text: string): CitableResult => ({
  documentId: `d${n}`,
  title: `Doc ${n}`,
  source: `/docs/${n}.md`,
  chunkIndex: n,
  score: 1 - n / 10,
  text,
  start: 100,
  end: 100 + text.length,
});

describe("buildRagPrompt", () => {
  const tok = createApproxTokenizer();

  it("numbers sources in rank order, quotes them verbatim and puts the question last", () => {
    const r = buildRagPrompt("Where is Blenport?", [
      result(1, "Blenport lies on the Amber Coast."),
      result(2, "Varnholt has glass towers."),
    ]);
    expect(r.sources.map((s) => [s.n, s.documentId, s.truncated])).toEqual([
      [1, "d1", false],
      [2, "d2", false],
    ]);
    expect(r.prompt).toContain("[1] Doc 1 (/docs/1.md)\nBlenport lies on the Amber Coast.");
    expect(r.prompt.indexOf("[1]")).toBeLessThan(r.prompt.indexOf("[2] Doc 2"));
    expect(r.prompt.endsWith("Question: Where is Blenport?\nAnswer:")).toBe(true);
    expect(r.prompt.startsWith(r.context)).toBe(true);
    expect(r.tokens).toBe(tok.count(r.prompt));
  });

  it("stays within the token budget, cutting the last source at a word boundary and dropping the rest", () => {
    const long = Array.from({ length: 200 }, (_, i) => `word${i % 7}`).join(" ");
    const results = [result(1, "Short first source."), result(2, long), result(3, "Never included.")];
    const r = buildRagPrompt("What?", results, { maxContextTokens: 150 });
    expect(r.tokens).toBeLessThanOrEqual(150);
    expect(r.sources).toHaveLength(2);
    expect(r.sources[1].truncated).toBe(true);
    expect(long.startsWith(r.sources[1].text)).toBe(true);
    expect(r.sources[1].end - r.sources[1].start).toBe(r.sources[1].text.length);
    expect(r.prompt).not.toContain("Never included.");
    for (const budget of [60, 90, 120, 400])
      expect(buildRagPrompt("What?", results, { maxContextTokens: budget }).tokens).toBeLessThanOrEqual(budget);
  });

  it("refuses a budget smaller than the instructions and question", () => {
    try {
      buildRagPrompt("a fairly long question ".repeat(20), [], { maxContextTokens: 20 });
      expect.unreachable();
    } catch (e) {
      expect(isReflexiaError(e) && e.code).toBe("RFX_CONTEXT_OVERFLOW");
    }
  });

  it("builds a prompt without sources when nothing was retrieved", () => {
    const r = buildRagPrompt("Anything?", []);
    expect(r.sources).toEqual([]);
    expect(r.prompt).toContain("say that you do not know");
  });
});
