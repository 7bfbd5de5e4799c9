import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { isReflexiaError, type ErrorCode } from "../errors/index.ts";
import { createRagService, type RagService, type RagServiceOptions } from "./create-rag-service.ts";
import { createHashEmbedder } from "./embeddings/hash-embedder.ts";
import { writeMinimalPdf } from "./extract/write-minimal-pdf.ts";
import { createMemoryStore } from "./store/memory-store.ts";

const root = mkdtempSync(join(tmpdir(), "rfx-rag-svc-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const open: RagService[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
});

async function service(options: Partial<RagServiceOptions> = {}): Promise<{ svc: RagService; dir: string }> {
  const dir = options.dir ?? join(root, `svc${n++}`);
  const svc = await createRagService({ dir, chunkSize: 64, chunkOverlap: 8, ...options });
  open.push(svc);
  return { svc, dir };
}

async function rejects(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(p).rejects.toSatisfy((e) => isReflexiaError(e) && e.code === code);
}

/** Table versions change on every LanceDB commit, so equal versions mean nothing was written. */
async function tableVersions(dir: string): Promise<Record<string, number>> {
  const db = await lancedb.connect(dir);
  const out: Record<string, number> = {};
  for (const name of await db.tableNames()) {
    const t = await db.openTable(name);
    out[name] = await t.version();
    t.close();
  }
  db.close();
  return out;
}

const ATLAS = [
  "Zorvania is a small fictional country in the northern mountains. Its capital is Blenport, a harbour city.",
  "The national dish of Zorvania is smoked trout with juniper berries, served at every spring festival.",
  "Quellmark borders Zorvania to the south. Its capital, Varnholt, is known for glass towers and long winters.",
].join("\n\n");

describe("createRagService", () => {
  it("ingests a document: metadata, exact chunk offsets, and retrieval by vector and hybrid search", async () => {
    const { svc } = await service();
    const r = await svc.ingest({ content: ATLAS, filename: "atlas.md", source: "/docs/atlas.md" });
    expect(r.status).toBe("created");
    expect(r.document).toMatchObject({
      source: "/docs/atlas.md",
      title: "atlas.md",
      type: "markdown",
      size: Buffer.byteLength(ATLAS),
      chunkCount: r.chunks.length,
    });
    expect(r.document.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(r.document.addedAt)).not.toBeNaN();
    const full = await svc.get(r.document.id, { withText: true, withChunks: true });
    for (const c of full.chunks!) expect(full.text!.slice(c.start, c.end)).toBe(c.text);
    for (const hybrid of [false, true]) {
      const q = await svc.query("What is the capital of Quellmark?", { topK: 2, hybrid });
      expect(q.mode).toBe(hybrid ? "hybrid" : "vector");
      expect(q.results[0].text).toContain("Varnholt");
      expect(q.results[0]).toMatchObject({ documentId: r.document.id, title: "atlas.md", source: "/docs/atlas.md" });
      expect(full.text!.slice(q.results[0].start, q.results[0].end)).toBe(q.results[0].text);
      expect(q.timings.totalMs).toBeGreaterThanOrEqual(q.timings.searchMs);
      if (hybrid) expect(Object.keys(q.results[0].scores ?? {})).toContain("vector");
    }
    expect(await svc.stats()).toMatchObject({
      documents: 1,
      chunks: r.chunks.length,
      store: "lancedb",
      embedder: { id: "hash-v1-384", dim: 384 },
      distance: "ip",
    });
  });

  it("treats identical content as a no-op and changed content of the same source as a replacement", async () => {
    const { svc, dir } = await service();
    const first = await svc.ingest({ content: ATLAS, source: "/docs/atlas.md" });
    // Background index maintenance writes too: let it finish before taking the snapshot.
    await svc.optimize();
    const before = await tableVersions(dir);
    const again = await svc.ingest({ content: ATLAS, source: "/docs/atlas.md" });
    expect(again.status).toBe("unchanged");
    expect(again.document).toEqual(first.document);
    expect(again.chunks.map((c) => c.id)).toEqual(first.chunks.map((c) => c.id));
    const copy = await svc.ingest({ content: ATLAS, source: "/elsewhere/copy.md" });
    expect(copy.status).toBe("unchanged");
    expect(copy.document.id).toBe(first.document.id);
    expect(await tableVersions(dir)).toEqual(before);

    const changed = await svc.ingest({ content: ATLAS.replace("Blenport", "Nordhaven"), source: "/docs/atlas.md" });
    expect(changed.status).toBe("replaced");
    expect(changed.document.id).toBe(first.document.id);
    expect(changed.document.sha256).not.toBe(first.document.sha256);
    expect((await svc.stats()).documents).toBe(1);
    const q = await svc.query("Blenport harbour capital", { topK: 5 });
    expect(q.results.some((x) => x.text.includes("Blenport"))).toBe(false);
    expect((await svc.query("Nordhaven", { topK: 1 })).results[0].text).toContain("Nordhaven");
    expect(await svc.verify()).toMatchObject({ orphanChunks: 0, incompleteDocuments: [] });
  });

  it("rejects bad uploads with a code and leaves the store unchanged", async () => {
    const { svc, dir } = await service({ maxBytes: 4096 });
    await svc.ingest({ content: ATLAS, source: "seed" });
    await svc.optimize();
    const before = await tableVersions(dir);
    const cases: [Parameters<RagService["ingest"]>[0], ErrorCode][] = [
      [{ content: "", filename: "empty.txt" }, "RFX_EMPTY_DOCUMENT"],
      [{ content: "   \n\n  ", filename: "blank.md" }, "RFX_EMPTY_DOCUMENT"],
      [{ content: Buffer.alloc(0), filename: "zero.pdf", mimeType: "application/pdf" }, "RFX_EMPTY_DOCUMENT"],
      [
        {
          content: Buffer.from([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04]),
          filename: "readme.txt",
          mimeType: "text/plain",
        },
        "RFX_UNSUPPORTED_MEDIA",
      ],
      [{ content: "a".repeat(5000), filename: "big.txt" }, "RFX_PAYLOAD_TOO_LARGE"],
      [{ content: Buffer.from("%PDF-1.4 broken"), filename: "broken.pdf" }, "RFX_UNSUPPORTED_MEDIA"],
    ];
    for (const [input, code] of cases) await rejects(svc.ingest(input), code);
    expect(await tableVersions(dir)).toEqual(before);
    expect((await svc.stats()).documents).toBe(1);
  });

  it("uses a path-traversal file name only as a title and source label", async () => {
    const { svc, dir } = await service();
    const r = await svc.ingest({ content: "root:x:0:0:root:/root:/bin/bash", filename: "../../etc/passwd" });
    expect(r.document.title).toBe("passwd");
    expect(r.document.source).toBe("passwd");
    const names: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        names.push(e.name);
        if (e.isDirectory()) walk(join(d, e.name));
      }
    };
    walk(root);
    expect(names).not.toContain("passwd");
    expect(readdirSync(join(dir, ".."))).not.toContain("etc");
  });

  it("ingests a PDF by content and quotes it exactly", async () => {
    const { svc } = await service();
    const r = await svc.ingest({
      content: writeMinimalPdf(["Blenport lies on the Amber Coast.", "Its lighthouse is 80 metres tall."]),
      filename: "coast.pdf",
    });
    expect(r.document.type).toBe("pdf");
    const q = await svc.query("How tall is the lighthouse?", { topK: 1 });
    expect(q.results[0].text).toContain("80 metres");
  });

  it("lists with paging, gets and deletes by id, and answers RFX_DOCUMENT_NOT_FOUND for unknown ids", async () => {
    const { svc } = await service();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        (await svc.ingest({ content: `Document number ${i} about topic ${i * 7}.`, source: `doc-${i}` })).document.id,
      );
    const page = await svc.list({ offset: 1, limit: 2 });
    expect(page).toMatchObject({ total: 5, offset: 1, limit: 2 });
    expect(page.documents.map((d) => d.id)).toEqual(ids.slice(1, 3));
    await rejects(svc.list({ limit: 0 }), "RFX_VALIDATION");
    await rejects(svc.list({ offset: -1 }), "RFX_VALIDATION");
    await rejects(svc.get("no-such-id"), "RFX_DOCUMENT_NOT_FOUND");
    await rejects(svc.delete("no-such-id"), "RFX_DOCUMENT_NOT_FOUND");
    await rejects(svc.get("x' OR '1'='1"), "RFX_DOCUMENT_NOT_FOUND");
    expect((await svc.delete(ids[2])).id).toBe(ids[2]);
    await rejects(svc.get(ids[2]), "RFX_DOCUMENT_NOT_FOUND");
    expect((await svc.list()).total).toBe(4);
    const q = await svc.query("Document number 2 about topic 14", { topK: 4, hybrid: false });
    expect(q.results.every((x) => x.documentId !== ids[2])).toBe(true);
  });

  it("validates queries", async () => {
    const { svc } = await service();
    await rejects(svc.query("   "), "RFX_VALIDATION");
    await rejects(svc.query("x", { topK: 0 }), "RFX_VALIDATION");
    await rejects(svc.query("x", { topK: 1000 }), "RFX_VALIDATION");
    expect((await svc.query("nothing stored yet")).results).toEqual([]);
  });

  it("reports to the observer", async () => {
    const events: string[] = [];
    const { svc } = await service({
      // LanceDB only: the in-memory index adds a report when it has filled (covered in open-rag.test.ts).
      memoryIndex: false,
      observer: {
        onIngest: (s, ok) => events.push(`ingest:${ok}:${s >= 0}`),
        onRetrieval: (s) => events.push(`retrieval:${s >= 0}`),
        onCounts: (d, c) => events.push(`counts:${d}:${c > 0 || d === 0}`),
      },
    });
    await svc.ingest({ content: ATLAS });
    await svc.ingest({ content: "" }).catch(() => undefined);
    await svc.query("capital");
    expect(events).toEqual([
      "counts:0:true",
      "counts:1:true",
      "ingest:true:true",
      "ingest:false:true",
      "retrieval:true",
    ]);
  });

  it("keeps documents across a restart and refuses a store built by another embedder", async () => {
    const { svc, dir } = await service();
    const r = await svc.ingest({ content: ATLAS, source: "atlas" });
    await svc.close();
    open.splice(open.indexOf(svc), 1);
    const { svc: again } = await service({ dir });
    expect((await again.get(r.document.id)).sha256).toBe(r.document.sha256);
    expect((await again.query("smoked trout juniper", { topK: 1 })).results[0].text).toContain("trout");
    await again.close();
    open.splice(open.indexOf(again), 1);
    await rejects(createRagService({ dir, embedder: createHashEmbedder({ dim: 128 }) }), "RFX_CONFIG_INVALID");
  });

  it("runs on an injected store", async () => {
    const { svc } = await service({ store: createMemoryStore({ dim: 384 }) });
    await svc.ingest({ content: ATLAS });
    expect((await svc.stats()).store).toBe("memory");
    expect((await svc.query("Varnholt glass towers", { topK: 1 })).results[0].text).toContain("Varnholt");
  });

  it("ingests many documents in batches, settling each input on its own", async () => {
    const { svc } = await service();
    const progress: number[] = [];
    const items = await svc.ingestMany(
      [
        { content: "First document about harbours.", source: "a" },
        { content: "", source: "empty" },
        { content: "Second document about lighthouses.", source: "b" },
        { content: "First document about harbours.", source: "a-copy" },
        { content: "Version two of the first document.", source: "a" },
        { content: "Third document about tides.", source: "c" },
      ],
      { batchDocuments: 2, onProgress: (p) => progress.push(p.done) },
    );
    expect(items.map((i) => (i.ok ? i.result.status : i.error.code))).toEqual([
      "created",
      "RFX_EMPTY_DOCUMENT",
      "created",
      "unchanged",
      "replaced",
      "created",
    ]);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await svc.stats()).documents).toBe(3);
    const a = items[0].ok ? items[0].result.document.id : "";
    expect((await svc.get(a, { withText: true })).text).toBe("Version two of the first document.");
    expect(await svc.verify()).toMatchObject({ orphanChunks: 0, incompleteDocuments: [] });
  });

  it("stores two concurrent uploads of the same content once", async () => {
    const { svc } = await service();
    const [a, b] = await Promise.all([
      svc.ingest({ content: ATLAS, source: "s" }),
      svc.ingest({ content: ATLAS, source: "s" }),
    ]);
    expect([a.status, b.status].sort()).toEqual(["created", "unchanged"]);
    expect((await svc.stats()).documents).toBe(1);
  });
});
