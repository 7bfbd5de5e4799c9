// Crash-safe file primitives for the store: temp file + fsync + rename, and copies that hash as they go.
import { createHash, randomBytes, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isProcessAlive } from "./store-lock.ts";

/** Flushes a directory entry so a rename inside it survives a crash (a no-op where directories cannot be opened). */
export async function fsyncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Some platforms refuse fsync on directories; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}

/** Flushes a file written by someone else (the quantizer, the synthetic writer) before it is renamed into the store. */
export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A unique temp path in `dir`; temp names start with `.tmp-` so listings can skip them. */
export function tempPath(dir: string, hint = ""): string {
  return join(dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}${hint}`);
}

/** Whether `name` is a tempPath() file of another process that is gone (left by a crash: safe to delete). */
export function isOrphanTemp(name: string): boolean {
  const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
  return pid > 0 && pid !== process.pid && !isProcessAlive(pid);
}

/** Writes `data` to `path` so that readers see either the old file or the complete new one, never a partial one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = tempPath(dir);
  try {
    const handle = await open(tmp, "w");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

/** Copies `src` to `dest` (a temp path the caller renames later), fsyncs it and returns its sha256 and size. */
export async function copyFileHashed(
  src: string,
  dest: string,
  onProgress?: (copiedBytes: number) => void,
): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash("sha256");
  const out = await open(dest, "w");
  let size = 0;
  try {
    for await (const chunk of createReadStream(src, { highWaterMark: 1 << 20 })) {
      const buf = chunk as Buffer;
      hash.update(buf);
      let off = 0;
      while (off < buf.length) off += (await out.write(buf, off, buf.length - off)).bytesWritten;
      size += buf.length;
      onProgress?.(size);
    }
    await out.sync();
  } finally {
    await out.close();
  }
  return { sha256: hash.digest("hex"), sizeBytes: size };
}

/** Feeds a file's bytes into `hash` (read in 1 MiB chunks) and returns it, so a resumed download can continue hashing. */
export async function feedHash(hash: Hash, path: string): Promise<Hash> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash;
}
