// Blobs uploaded by digest before a create (Ollama's POST /api/blobs/:digest): received into the store's uploads/,
// hashed on the way, kept only when the bytes match their digest; model blobs are looked up there and in blobs/.
import { createHash } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ReflexiaError } from "../errors/index.ts";
import { fsyncFile, tempPath } from "./atomic-fs.ts";
import { digestHex } from "./model-catalog.ts";

export interface BlobUploads {
  /** Whether the store holds the blob (uploaded, or already a model's). */
  has(digest: string): boolean;
  /** Path of the blob, or undefined when the store does not hold it. */
  pathOf(digest: string): string | undefined;
  /** Receives `body` as the blob `digest`; RFX_DIGEST_MISMATCH (and nothing kept) when the bytes hash otherwise. */
  receive(digest: string, body: Readable): Promise<{ sizeBytes: number }>;
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
  };
}
