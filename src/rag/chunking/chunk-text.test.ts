import { describe, expect, it } from "vitest";
import { isReflexiaError } from "../../errors/index.ts";
import { chunkText, type TextChunk } from "./chunk-text.ts";
import { createApproxTokenizer, createModelTokenizer } from "./tokenizer.ts";

const tok = createApproxTokenizer();

/** Deterministic prose: sentences of 6-20 words, paragraphs of 2-7 sentences. */
function prose(paragraphs: number, seed = 1): string {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const words =
    "river stone lantern quickly harbour seventeen migration orchestra velvet compass ancient ledger whisper".split(
      " ",
    );
  const paras: string[] = [];
  for (let p = 0; p < paragraphs; p++) {
    const sentences: string[] = [];
    const ns = 2 + Math.floor(rnd() * 6);
    for (let i = 0; i < ns; i++) {
      const nw = 6 + Math.floor(rnd() * 15);
      const ws = Array.from({ length: nw }, () => words[Math.floor(rnd() * words.length)]);
      ws[0] = ws[0][0].toUpperCase() + ws[0].slice(1);
      sentences.push(`${ws.join(" ")}.`);
    }
    paras.push(sentences.join(" "));
  }
  return paras.join("\n\n");
}

function checkInvariants(text: string, chunks: TextChunk[], size: number, overlap: number): void {
  expect(chunks.length).toBeGreaterThan(0);
  let covered = 0;
  chunks.forEach((c, i) => {
    expect(c.index).toBe(i);
    expect(text.slice(c.start, c.end)).toBe(c.text);
    expect(c.tokenCount).toBe(tok.count(c.text));
    expect(c.tokenCount).toBeLessThanOrEqual(size);
    if (i > 0) {
      const prev = chunks[i - 1];
      expect(c.start).toBeGreaterThan(prev.start);
      // Overlap is at most `overlap` tokens and never a gap of text.
      expect(c.start).toBeLessThanOrEqual(text.slice(prev.end).search(/\S/) + prev.end);
      if (c.start < prev.end) expect(tok.count(text.slice(c.start, prev.end))).toBeLessThanOrEqual(overlap);
    }
    covered = Math.max(covered, c.end);
  });
  expect(text.slice(0, chunks[0].start).trim()).toBe("");
  expect(text.slice(covered).trim()).toBe("");
}

describe("chunkText", () => {
  it.each([
    [512, 50],
    [128, 20],
    [64, 0],
    [32, 31],
  ])(
    "keeps exact offsets, the size limit, bounded overlap and full coverage (size %i, overlap %i)",
    (size, overlap) => {
      const text = prose(40);
      checkInvariants(text, chunkText(text, { chunkSize: size, chunkOverlap: overlap }), size, overlap);
    },
  );

  it("overlaps consecutive chunks by up to chunkOverlap tokens", () => {
    const text = prose(30, 7);
    const chunks = chunkText(text, { chunkSize: 100, chunkOverlap: 20 });
    const overlaps = chunks
      .slice(1)
      .map((c, i) => (c.start < chunks[i].end ? tok.count(text.slice(c.start, chunks[i].end)) : 0));
    expect(Math.min(...overlaps)).toBeGreaterThan(10);
    expect(Math.max(...overlaps)).toBeLessThanOrEqual(20);
  });

  it("cuts at paragraph ends when a paragraph boundary lies in the second half of the window", () => {
    const para = (n: number) =>
      Array.from({ length: 8 }, (_, i) => `Sentence ${n}.${i} has exactly some words.`).join(" ");
    const text = Array.from({ length: 12 }, (_, i) => para(i)).join("\n\n");
    const chunks = chunkText(text, { chunkSize: 200, chunkOverlap: 0 });
    for (const c of chunks.slice(0, -1)) expect(text.slice(c.end, c.end + 2)).toBe("\n\n");
  });

  it("cuts at sentence ends inside a long paragraph", () => {
    const text = Array.from(
      { length: 60 },
      (_, i) => `This is sentence number ${i} of one long paragraph without breaks.`,
    ).join(" ");
    const chunks = chunkText(text, { chunkSize: 64, chunkOverlap: 0 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(c.text.endsWith(".")).toBe(true);
  });

  it("splits an unbroken run of characters longer than a chunk", () => {
    const blob = "QUJD".repeat(3000);
    const text = `Header line.\n\n${blob}\n\nFooter line.`;
    const chunks = chunkText(text, { chunkSize: 100, chunkOverlap: 10 });
    checkInvariants(text, chunks, 100, 10);
    expect(chunks.map((c) => c.text).join("")).toContain(blob.slice(0, 100));
  });

  it("returns one chunk for short text and none for blank text", () => {
    expect(chunkText("  Hello there.  ")).toEqual([
      { index: 0, start: 2, end: 14, text: "Hello there.", tokenCount: 3 },
    ]);
    expect(chunkText(" \n ")).toEqual([]);
  });

  it("keeps surrogate pairs whole when splitting", () => {
    const text = "😀".repeat(5000);
    for (const c of chunkText(text, { chunkSize: 50, chunkOverlap: 0 })) {
      expect(c.text).toBe(text.slice(c.start, c.end));
      expect(/^(?:\uD83D\uDE00)+$/.test(c.text)).toBe(true);
    }
  });

  it("refuses invalid sizes", () => {
    for (const [chunkSize, chunkOverlap] of [
      [0, 0],
      [10, 10],
      [10, -1],
      [1.5, 0],
    ]) {
      expect(() => chunkText("x", { chunkSize, chunkOverlap })).toThrow(
        expect.objectContaining({ code: "RFX_CONFIG_INVALID" }),
      );
    }
    try {
      chunkText("x", { chunkSize: 8, chunkOverlap: 9 });
    } catch (e) {
      expect(isReflexiaError(e)).toBe(true);
    }
  });

  it("uses a plugged-in model tokenizer for its budget", () => {
    // One token per character: a 20-token budget means at most 20 characters per chunk.
    const charTok = createModelTokenizer({ tokenize: (t) => Array.from(t, (c) => c.charCodeAt(0)) }, "chars");
    expect(charTok.id).toBe("model:chars");
    const chunks = chunkText("aaaa bbbb cccc dddd eeee ffff gggg", {
      chunkSize: 10,
      chunkOverlap: 0,
      tokenizer: charTok,
    });
    expect(chunks.map((c) => c.text)).toEqual(["aaaa bbbb", "cccc dddd", "eeee ffff", "gggg"]);
  });
});

describe("createApproxTokenizer", () => {
  it("approximates word-piece counts", () => {
    expect(tok.count("")).toBe(0);
    expect(tok.count("hello world")).toBe(2);
    expect(tok.count("internationalization")).toBe(4);
    expect(tok.count("1234567")).toBe(3);
    expect(tok.count("wait...!")).toBe(3);
    expect(tok.count("日本語")).toBe(3);
    expect(tok.count("naïve café")).toBe(2);
  });

  it("counts English prose at 1.0-1.6 tokens per word, the usual BPE range", () => {
    const text =
      "Retrieval-augmented generation combines a language model with a search step: before answering, the system looks up " +
      "passages from a document collection and places them in the prompt, so the model can quote facts it was never trained " +
      "on. Chunk sizes are measured in tokens because the model's context window is, and overlapping chunks make sure that a " +
      "sentence cut at a boundary still appears whole in one of them. Offsets into the original text let the answer cite its " +
      "sources exactly.";
    const words = text.split(/\s+/).length;
    const n = tok.count(text);
    expect(n / words).toBeGreaterThanOrEqual(1.0);
    expect(n / words).toBeLessThanOrEqual(1.6);
  });
});
