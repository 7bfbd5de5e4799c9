// Blobs uploaded by digest before a create (Ollama's POST /api/blobs/:digest): received into the store's uploads/,
// hashed on the way, kept only when the bytes match their digest; model blobs are looked up there and in blobs/.
// An upload is an input, not a model: the create that uses it deletes it (its bytes are copied into the model's blob,
// or were the source of a quantize), and `reflexia serve` deletes the ones no create has used at start (as Ollama
// prunes unused blobs when it starts), so a store never keeps a second copy of a model's file.
import { createHash } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ReflexiaError } from "../errors/index.ts";
import { fsyncFile, isOrphanTemp, tempPath } from "./atomic-fs.ts";
import { digestHex } from "./model-catalog.ts";

/** How long `reflexia serve` keeps an upload no create has used when it starts (a create may follow a restart). */
export const UPLOAD_KEEP_MS = 60 * 60 * 1000;

/** An upload a create is reading; `done` lets it go. */
export interface HeldBlob {
  path: string;
  /** `used`: the create succeeded, so the upload is deleted once no other create holds it (never a model's blob). */
  done(used: boolean): Promise<void>;
}

export interface BlobUploads {
  /** Whether the store holds the blob (uploaded, or already a model's). */
  has(digest: string): boolean;
  /** Path of the blob, or undefined when the store does not hold it. */
  pathOf(digest: string): string | undefined;
  /** Receives `body` as the blob `digest`; RFX_DIGEST_MISMATCH (and nothing kept) when the bytes hash otherwise. */
  receive(digest: string, body: Readable): Promise<{ sizeBytes: number }>;
  /** The blob for a create to read, held until `done`; undefined when the store does not hold it. */
  hold(digest: string): HeldBlob | undefined;
  /**
   * Deletes uploads not written for `keepMs` that no create holds, and the partial uploads of dead processes;
   * returns what it removed.
   */
  prune(keepMs: number): Promise<{ files: number; bytes: number }>;
}

/** Parses `sha256:<64 hex>` (Ollama also accepts `sha256-<hex>`); RFX_VALIDATION otherwise. */
export function assertDigest(digest: string): string {
  const m = /^sha256[:-]([0-9a-f]{64})$/.exec(digest);
  if (!m)
    throw new ReflexiaError("RFX_VALIDATION", `invalid digest ${JSON.stringify(digest)}: expected sha256:<64 hex>`);
  return `sha256:${m[1]}`;
}

export function createBlobUploads(root: string, modelBlobPath: (digest: string) => string): BlobUploads {
  const dir = join(root, "uploads");
  const uploadPath = (digest: string) => join(dir, `sha256-${digestHex(digest)}`);
  const pathOf = (digest: string): string | undefined => {
    const d = assertDigest(digest);
    return [uploadPath(d), modelBlobPath(d)].find((p) => existsSync(p));
  };
  /** Creates reading each upload (by path), and whether one of them used it: the last to finish deletes a used one. */
  const holders = new Map<string, { count: number; used: boolean }>();
  return {
    has: (digest) => pathOf(digest) !== undefined,
    pathOf,
    async receive(digest, body) {
      const d = assertDigest(digest);
      await mkdir(dir, { recursive: true });
      const tmp = tempPath(dir, ".upload");
      const hash = createHash("sha256");
      let size = 0;
      try {
        await pipeline(
          body,
          async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              hash.update(chunk);
              size += chunk.length;
              yield chunk;
            }
          },
          createWriteStream(tmp),
        );
        const actual = `sha256:${hash.digest("hex")}`;
        if (actual !== d)
          throw new ReflexiaError("RFX_DIGEST_MISMATCH", `digest mismatch: the body hashes to ${actual}, not ${d}`, {
            expected: d,
            actual,
          });
        await fsyncFile(tmp);
        await rename(tmp, uploadPath(d));
        return { sizeBytes: size };
      } finally {
        await rm(tmp, { force: true });
      }
    },
    hold(digest) {
      const path = pathOf(digest);
      if (!path) return undefined;
      // A model's blob is only read: nothing to count or delete.
      if (path !== uploadPath(assertDigest(digest))) return { path, done: async () => undefined };
      const h = holders.get(path) ?? { count: 0, used: false };
      h.count++;
      holders.set(path, h);
      let released = false;
      return {
        path,
        async done(used) {
          if (released) return;
          released = true;
          h.used ||= used;
          if (--h.count > 0) return;
          holders.delete(path);
          if (h.used) await rm(path, { force: true });
        },
      };
    },
    async prune(keepMs) {
      let files = 0;
      let bytes = 0;
      const now = Date.now();
      for (const f of await readdir(dir).catch(() => [] as string[])) {
        const path = join(dir, f);
        const partial = isOrphanTemp(f);
        if (!partial && !(f.startsWith("sha256-") && !holders.has(path))) continue;
        const st = await stat(path).catch(() => undefined);
        if (!st || (!partial && now - st.mtimeMs < keepMs)) continue;
        await rm(path, { force: true });
        files++;
        bytes += st.size;
      }
      return { files, bytes };
    },
  };
}
