import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { registerStoreConformance } from "./store-conformance.ts";
import { openLanceDbStore } from "./lancedb-store.ts";
import type { VectorStore } from "./vector-store.ts";

const root = mkdtempSync(join(tmpdir(), "rfx-lancedb-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dirs = new WeakMap<VectorStore, { dir: string; dim: number; distance: VectorStore["distance"] }>();

registerStoreConformance("lancedb", {
  async open({ dim, distance }) {
    const dir = join(root, `s${n++}`);
    const s = await openLanceDbStore({ dir, dim, distance, embedderId: "test" });
    dirs.set(s, { dir, dim, distance });
    return s;
  },
  async reopen(store) {
    const o = dirs.get(store)!;
    await store.close();
    const s = await openLanceDbStore({ ...o, embedderId: "test" });
    dirs.set(s, o);
    return s;
  },
});
