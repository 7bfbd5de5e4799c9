// The in-memory index's full-text side against LanceDB's own index on the same chunks: the same analysis (tokens,
// lower-casing, Snowball English stems, stop words, ASCII folding) must give the same chunks for every query, with
// the same BM25 scores.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openLanceDbStore } from "./lancedb-store.ts";
import type { DocumentRecord, EmbeddedChunk } from "./vector-store.ts";

const root = mkdtempSync(join(tmpdir(), "rfx-fts-parity-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DIM = 8;

/** One chunk per text, each its own document; vectors do not matter here. */
function corpus(texts: string[]): { doc: DocumentRecord; chunks: EmbeddedChunk[] }[] {
  return texts.map((text, i) => {
    const id = `t${i}`;
    const vector = new Float32Array(DIM).map((_, j) => (j === i % DIM ? 1 : 0));
    return {
      doc: {
        id,
        source: id,
        title: id,
        type: "text",
        mimeType: "text/plain",
        size: text.length,
        sha256: `sha-${id}`,
        addedAt: new Date(0).toISOString(),
        chunkCount: 1,
        charCount: text.length,
        text,
      },
      chunks: [{ id: `${id}:0`, documentId: id, index: 0, text, start: 0, end: text.length, tokenCount: 8, vector }],
    };
  });
}

// Every Porter2 rule class, each word beside a relative it should (or should not) share a stem with.
const TEXTS = [
  "Running quickly along the river, she runs every morning.",
  "He stopped the car and kept stopping at each light.",
  "They were sitting by the window; the sitter sat still.",
  "The children played happily and happiness followed.",
  "She gave generously to the general fund; generous donors helped.",
  "A relational database relates tables through relations.",
  "The offer was conditional: conditions applied, conditionally.",
  "Hopeful hoping hoped hopes, and hopefulness was in the air.",
  "The cats caresses ponies; the pony carried cries and ties.",
  "Agreed and agreement: the committee agreed after feeding.",
  "Digitizer, digitization, digitized — the analyzer analyzes.",
  "Sensational vileness and hopelessly effective activation.",
  "Formalism formality formalize formalization and formative.",
  "Electrical electricity electricians, eclectic electrification.",
  "Adjustable adjustment and adoption of dependent dependence.",
  "Geologic geology: the biologist studies biological logic.",
  "Skies over skis; dying, lying and tying; only early news.",
  "Inning outing canning herring; proceed, exceed, succeed.",
  "Its ins and outs: the ands and ifs of it all.",
  "Café menus, résumés, naïvely: the cafes had resumes.",
  "Straße and strasse; Æsthetic aesthetic œuvre oeuvre.",
  "ΟΔΟΣ, οδοσ and fullwidth ＲＵＮＮＩＮＧ text.",
  "Fluently, fluency; presently presentation; rationally rational.",
  "Abundantly abundance, elegantly elegance, toothily toothy.",
  "Crying cries cried; flying flies; saying says said; yelling yelled.",
];

const QUERIES = [
  "run",
  "runs",
  "running",
  "stop",
  "stopped",
  "sit",
  "sitting",
  "happy",
  "happily",
  "generous",
  "generously",
  "general",
  "relational",
  "relate",
  "conditional",
  "condition",
  "hope",
  "hopeful",
  "caress",
  "pony",
  "cry",
  "tie",
  "agree",
  "feed",
  "digitize",
  "analyze",
  "sensation",
  "vile",
  "hopeless",
  "effective",
  "activate",
  "formal",
  "formative",
  "electric",
  "eclectic",
  "adjust",
  "adopt",
  "depend",
  "geology",
  "biology",
  "logical",
  "sky",
  "ski",
  "die",
  "lie",
  "only",
  "early",
  "inning",
  "succeed",
  "it",
  "in",
  "and",
  "cafe",
  "resume",
  "naive",
  "strasse",
  "aesthetic",
  "oeuvre",
  "οδος",
  "running fullwidth",
  "fluent",
  "present",
  "rational",
  "abundant",
  "elegant",
  "tooth",
  "fly",
  "say",
  "yell",
];

describe("full-text parity of the in-memory index with LanceDB's index", () => {
  it("returns the same chunks, with the same BM25 scores, for query words across the Porter2 rule classes", async () => {
    const items = corpus(TEXTS);
    const lance = await openLanceDbStore({ dir: join(root, "lance"), dim: DIM, embedderId: "t" });
    const memory = await openLanceDbStore({
      dir: join(root, "memory"),
      dim: DIM,
      embedderId: "t",
      memoryIndex: { maxBytes: 64 << 20, quantization: "none", forceJs: true },
    });
    try {
      await lance.commitDocuments(items);
      await memory.commitDocuments(items);
      expect(lance.memoryIndexInfo!().state).toBe("off");
      expect(memory.memoryIndexInfo!()).toMatchObject({ state: "serving", chunks: TEXTS.length });
      const mismatches: string[] = [];
      for (const q of QUERIES) {
        const fromLance = await lance.textSearch(q, { limit: TEXTS.length });
        const fromMemory = await memory.textSearch(q, { limit: TEXTS.length });
        const ids = (hits: typeof fromLance) => hits.map((h) => h.chunk.id).sort();
        if (JSON.stringify(ids(fromLance)) !== JSON.stringify(ids(fromMemory))) {
          mismatches.push(`${q}: LanceDB [${ids(fromLance)}] in-memory [${ids(fromMemory)}]`);
          continue;
        }
        const memoryScore = new Map(fromMemory.map((h) => [h.chunk.id, h.score]));
        for (const h of fromLance) {
          if (Math.abs(h.score - memoryScore.get(h.chunk.id)!) > 1e-3 * Math.max(1, h.score)) {
            mismatches.push(`${q}: ${h.chunk.id} LanceDB ${h.score} in-memory ${memoryScore.get(h.chunk.id)}`);
          }
        }
      }
      expect(mismatches).toEqual([]);
      // The finding this guards: "run" finds "Running" (LanceDB stems it to run; a light stemmer made it "runn").
      expect((await memory.textSearch("run", { limit: 5 })).map((h) => h.chunk.id)).toContain("t0:0");
    } finally {
      await lance.close();
      await memory.close();
    }
  });
});
