// Two stores on one directory, as a server and a CLI with --local share one home: neither may delete what the other
// committed. The stores run in one process here, which withStoreLock serialises exactly as it does two processes
// (an in-process queue in front of the same lock file), so the interleaving below is deterministic.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { openLanceDbStore } from "./lancedb-store.ts";
import { axisVector, makeDoc } from "./store-conformance.ts";

/** Lets the test see when a store asks for the store lock (the real lock is taken all the same). */
const lockWatch = vi.hoisted(() => ({ onRequest: undefined as (() => void) | undefined }));
vi.mock("../../registry/store-lock.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../registry/store-lock.ts")>();
  return {
    ...real,
    withStoreLock: <T>(path: string, fn: () => Promise<T>): Promise<T> => {
      lockWatch.onRequest?.();
      return real.withStoreLock(path, fn);
    },
  };
});

const root = mkdtempSync(join(tmpdir(), "rfx-lancedb-shared-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dim = 16;

/** Document `id` at `version`: `chunkCount` chunks whose text names both. */
const docOf = (id: string, version: string, chunkCount: number) =>
  makeDoc(
    id,
    Array.from({ length: chunkCount }, (_, i) => `${version} chunk ${i} of ${id}`),
    Array.from({ length: chunkCount }, (_, i) => axisVector(i)),
  );

describe("lancedb store shared by two processes", () => {
  it("a store opened while the other commits keeps the chunks of that commit (new and replaced documents)", async () => {
    const dir = join(root, "open-during-commit");
    const open = (onCommitStep?: (step: "chunks" | "documents") => Promise<void>) =>
      openLanceDbStore({ dir, dim, embedderId: "t", onCommitStep });
    // "a" v1 exists before; then one commit replaces it (v2, 2 chunks) and adds "b" (5 chunks).
    const first = await open();
    const v1 = docOf("a", "v1", 3);
    await first.commitDocument(v1.doc, v1.chunks);
    await first.close(); // no refresh timer left behind to ask for the lock during the race

    let second: ReturnType<typeof openLanceDbStore> | undefined;
    let racing = true;
    // The writer has appended the chunks (step 1) and holds the lock: the other store opens now, and the writer
    // publishes its document rows (step 2) only once that store is waiting for the lock.
    const writer = await open(async (step) => {
      if (step !== "chunks" || !racing) return;
      racing = false;
      const waiting = new Promise<void>((resolve) => {
        lockWatch.onRequest = () => {
          lockWatch.onRequest = undefined;
          resolve();
        };
      });
      second = open();
      second.catch(() => undefined);
      await waiting;
    });
    const v2 = docOf("a", "v2", 2);
    const b = docOf("b", "v1", 5);
    await writer.commitDocuments([v2, b]);
    expect(second).toBeDefined();
    const reader = await second!;
    try {
      for (const store of [writer, reader]) {
        expect(await store.verify()).toMatchObject({ documents: 2, chunks: 7, incompleteDocuments: [] });
        expect((await store.getChunks("a")).map((c) => c.text)).toEqual(v2.chunks.map((c) => c.text));
        expect((await store.getChunks("b")).map((c) => c.text)).toEqual(b.chunks.map((c) => c.text));
        expect(await store.counts()).toEqual({ documents: 2, chunks: 7 });
      }
    } finally {
      await reader.close();
      await writer.close();
    }
    // And from a fresh open, once both are closed.
    const again = await open();
    try {
      expect(await again.verify()).toEqual({ documents: 2, chunks: 7, orphanChunks: 0, incompleteDocuments: [] });
    } finally {
      await again.close();
    }
  });

  it("two stores opening a new directory at once both open it, on the same tables", async () => {
    const dir = join(root, "open-together");
    const [one, two] = await Promise.all([0, 1].map(() => openLanceDbStore({ dir, dim, embedderId: "t" })));
    try {
      const a = docOf("a", "v1", 2);
      await one.commitDocument(a.doc, a.chunks);
      expect(await two.verify()).toMatchObject({ documents: 1, chunks: 2, incompleteDocuments: [] });
    } finally {
      await one.close();
      await two.close();
    }
  });
});
