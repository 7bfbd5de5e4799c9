// Shared fixtures of the registry tests: temp homes, a tiny real GGUF, and a byte-level snapshot of the store.
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { writeSyntheticModel } from "../src/gguf/index.ts";
import type { ModelStore } from "../src/registry/index.ts";

const created = new Set<string>();

/** A fresh temp directory, removed by cleanupTempDirs(). */
export function makeTempDir(prefix = "rfx-registry-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.add(dir);
  return dir;
}

/** Removes every directory makeTempDir created in this test file; call from afterAll. */
export async function cleanupTempDirs(): Promise<void> {
  for (const d of created) await rm(d, { recursive: true, force: true });
  created.clear();
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Writes the tiny synthetic f16 model (a few MB, real GGUF) and returns its path and sha256. */
export async function writeTinyGguf(
  dir: string,
  seed = 7,
  file = `tiny-${seed}.gguf`,
): Promise<{ path: string; sha256: string; bytes: Buffer }> {
  const path = join(dir, file);
  await writeSyntheticModel({ path, shape: "tiny", seed });
  const bytes = readFileSync(path);
  return { path, sha256: createHash("sha256").update(bytes).digest("hex"), bytes };
}

export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Every file under the store root with its size and sha256, plus the listing: equal snapshots = unchanged store. */
export async function snapshotStore(store: ModelStore): Promise<{ files: Record<string, string>; listing: unknown }> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else files[relative(store.root, p)] = `${statSync(p).size}:${sha256(readFileSync(p))}`;
    }
  };
  walk(store.root);
  return { files, listing: await store.list() };
}
