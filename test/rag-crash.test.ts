// SIGKILLs a process in the middle of ingesting, again and again: after each restart every acknowledged
// document must be there, whole, and no partial document or orphan chunk may exist.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { chunkText, createRagService, openLanceDbStore, type RagDocument, type SearchHit } from "../src/rag/index.ts";
import { createHashEmbedder } from "../src/rag/embeddings/hash-embedder.ts";
import { CRASH_STORE_OPTIONS, crashDocText, crashOp, type CrashOp } from "./fixtures/rag-crash-ops.ts";

const CHILD = fileURLToPath(new URL("./fixtures/rag-crash-child.ts", import.meta.url));
const CYCLES = 12;
const dir = mkdtempSync(join(tmpdir(), "rfx-rag-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the child on `dir` from op `start`, kills it with SIGKILL after a random delay, returns the last acked op. */
async function runAndKill(
  dir: string,
  start: number,
  killFromSpawn: boolean,
): Promise<{ lastAck: number; killedDuring: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, String(start)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let lastAck = start - 1;
  let stderr = "";
  let ready = false;
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => ((exited = true), resolve(code))));
  child.stderr.on("data", (d) => (stderr += d));
  let buf = "";
  const onReady = new Promise<void>((resolve) => {
    child.stdout.on("data", (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === "ready") {
          ready = true;
          resolve();
        } else if (line.startsWith("ack ")) lastAck = Number(line.slice(4));
      }
    });
  });
  if (killFromSpawn) await new Promise((r) => setTimeout(r, 200 + Math.random() * 1500));
  else {
    await Promise.race([onReady, exit]);
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 1200));
  }
  if (exited) throw new Error(`the child exited by itself: ${stderr}`);
  child.kill("SIGKILL");
  await exit;
  return { lastAck, killedDuring: ready ? `op ${lastAck + 1}` : "startup" };
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

function apply(state: Map<string, number | undefined>, op: CrashOp): void {
  if (op.kind === "ingest") state.set(op.source, op.version);
  else if (op.kind === "batch") for (const it of op.items) state.set(it.source, it.version);
  else state.set(op.source, undefined);
}

function inFlightSources(op: CrashOp): string[] {
  return op.kind === "batch" ? op.items.map((it) => it.source) : [op.source];
}

/** Source → version after applying ops 0..last (undefined: absent). */
function expectedState(last: number): Map<string, number | undefined> {
  const state = new Map<string, number | undefined>();
  for (let i = 0; i <= last; i++) apply(state, crashOp(i));
  return state;
}

describe("RAG durability under SIGKILL", () => {
  it(`keeps every acknowledged document whole across ${CYCLES} kills`, async () => {
    let next = 0;
    let totalAcked = 0;
    const log: string[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const { lastAck, killedDuring } = await runAndKill(dir, next, cycle % 6 === 5);
      totalAcked += lastAck + 1 - next;
      log.push(`cycle ${cycle}: acked ops ${next}..${lastAck}, killed during ${killedDuring}`);
      if (process.env.RAG_CRASH_DEBUG) process.stderr.write(`${log[log.length - 1]}\n`);

      const svc = await createRagService({ dir, ...CRASH_STORE_OPTIONS });
      try {
        const report = await svc.verify();
        expect(report.orphanChunks, log.join("\n")).toBe(0);
        expect(report.incompleteDocuments, log.join("\n")).toEqual([]);
        expect(report.memoryIndex, log.join("\n")).toEqual({ chunks: report.chunks, mismatched: [] });
        const present = new Map<string, RagDocument>();
        for (let offset = 0; ; offset += 1000) {
          const page = await svc.list({ offset, limit: 1000 });
          for (const d of page.documents) present.set(d.source, d);
          if (offset + 1000 >= page.total) break;
        }
        const acked = expectedState(lastAck);
        // The one op in flight at the kill may or may not have committed; it is the only allowed difference.
        const inFlight = new Map<string, number | undefined>();
        apply(inFlight, crashOp(lastAck + 1));
        // Sources written since the previous check (and the op in flight) are where a partial state could appear.
        const touched = new Set<string>();
        for (let i = next; i <= lastAck + 1; i++) for (const src of inFlightSources(crashOp(i))) touched.add(src);
        for (const source of new Set([...acked.keys(), ...present.keys(), ...inFlight.keys()])) {
          const doc = present.get(source);
          const version = doc ? [1, 2].find((v) => sha(crashDocText(source, v)) === doc.sha256) : undefined;
          if (doc) expect(version, `${source} holds content of no known version`).toBeDefined();
          const allowed = [acked.get(source), ...(inFlight.has(source) ? [inFlight.get(source)] : [])];
          expect(allowed, `${source}: found ${doc ? `v${version}` : "nothing"}\n${log.join("\n")}`).toContain(
            doc ? version : undefined,
          );
          if (!doc || !touched.has(source)) continue;
          // Whole: exactly the chunks the text produces, at the same offsets (verify() covered the others).
          const expected = chunkText(crashDocText(source, version!), CRASH_STORE_OPTIONS);
          const stored = (await svc.get(doc.id, { withChunks: true })).chunks!;
          expect(stored.map((c) => [c.index, c.start, c.end, c.text])).toEqual(
            expected.map((c) => [c.index, c.start, c.end, c.text]),
          );
        }
      } finally {
        await svc.close();
      }
      next = lastAck + 1;
    }
    console.log(`[rag-crash] ${totalAcked} ops acknowledged over ${CYCLES} SIGKILLs\n${log.join("\n")}`);
    // Kills must land mid-ingestion, not only before the first op, or the test proves nothing.
    expect(totalAcked).toBeGreaterThanOrEqual(CYCLES * 2);
  });

  it("after each kill and reopen, the in-memory index returns exactly the chunks LanceDB holds live", async () => {
    const own = mkdtempSync(join(tmpdir(), "rfx-rag-crash-mem-"));
    try {
      const embedder = createHashEmbedder({ dim: 384 });
      const opts = {
        dir: own,
        dim: embedder.dim,
        embedderId: embedder.id,
        annThreshold: CRASH_STORE_OPTIONS.annThreshold,
      };
      const ids = (hits: SearchHit[]) => hits.map((h) => h.chunk.id).sort();
      let next = 0;
      for (let cycle = 0; cycle < 4; cycle++) {
        const { lastAck } = await runAndKill(own, next, false);
        next = lastAck + 1;
        const probe = Float32Array.from((await embedder.embed(["harbour glacier meadow"]))[0]);
        // The index as the reopened store built it, asked for every chunk it holds.
        const withIndex = await openLanceDbStore({ ...opts, memoryIndex: CRASH_STORE_OPTIONS.memoryIndex });
        await withIndex.memoryIndexReady?.();
        const { chunks } = await withIndex.counts();
        expect(withIndex.memoryIndexInfo?.()).toMatchObject({ state: "serving", chunks });
        const memVector = ids(await withIndex.vectorSearch(probe, { limit: chunks + 10 }));
        const memText = ids(await withIndex.textSearch("glacier", { limit: chunks + 10 }));
        expect((await withIndex.verify()).memoryIndex).toEqual({ chunks, mismatched: [] });
        await withIndex.close();
        // LanceDB's own searches over the same data are the oracle.
        const lance = await openLanceDbStore(opts);
        try {
          expect(memVector).toHaveLength(chunks);
          expect(memVector).toEqual(ids(await lance.vectorSearch(probe, { limit: chunks + 10, exact: true })));
          expect(memText).toEqual(ids(await lance.textSearch("glacier", { limit: chunks + 10 })));
          expect(memText.length).toBeGreaterThan(0);
        } finally {
          await lance.close();
        }
      }
      expect(next).toBeGreaterThan(4);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});
