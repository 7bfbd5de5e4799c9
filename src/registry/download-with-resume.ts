// HTTP(S) download into a partial file that later attempts resume with Range/If-Range, hashing and size-checking as it goes.
import { createHash, type Hash } from "node:crypto";
import { existsSync } from "node:fs";
import { open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { ReflexiaError } from "../errors/index.ts";
import { feedHash } from "./atomic-fs.ts";
import { fetchFailureReason } from "./fetch-failure.ts";
import { startTransferWatchdog, type TransferWatchdog } from "./transfer-watchdog.ts";
import type { DownloadProgress } from "./types.ts";

export interface DownloadWithResumeOptions {
  url: string;
  /** Where the bytes accumulate; kept after interruptions so the next attempt resumes. */
  partPath: string;
  /** Sidecar JSON remembering the URL, validator and length of the partial file. */
  metaPath: string;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Stall/trickle detection window (config `registry.pull_read_timeout_seconds`); see transfer-watchdog.ts. */
  readTimeoutSeconds?: number;
  /** Slowest accepted average rate per window (config `registry.pull_min_bytes_per_second`). */
  minBytesPerSecond?: number;
}

export interface DownloadWithResumeResult {
  sha256: string;
  sizeBytes: number;
  resumedFrom: number;
  requests: number;
}

interface PartialMeta {
  url: string;
  etag?: string;
  lastModified?: string;
  totalBytes?: number;
}

async function readMeta(path: string, url: string): Promise<PartialMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(path, "utf8")) as PartialMeta;
    return meta.url === url ? meta : undefined;
  } catch {
    return undefined;
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function isAbort(e: unknown, signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted) || (e instanceof Error && e.name === "AbortError");
}

/** `bytes 100-199/1000` → {start: 100, total: 1000}; total undefined for `*`. */
function parseContentRange(header: string | null): { start: number; total?: number } | undefined {
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header?.trim() ?? "");
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === "*" ? undefined : Number(m[3]) };
}

export async function downloadWithResume(options: DownloadWithResumeOptions): Promise<DownloadWithResumeResult> {
  const { url, partPath, metaPath, onProgress, signal } = options;
  let requests = 0;
  // A partial without its sidecar (or for another URL) cannot be trusted to be a prefix of this resource.
  let meta = await readMeta(metaPath, url);
  let offset = meta ? await sizeOf(partPath) : 0;
  if (!meta && existsSync(partPath)) await rm(partPath, { force: true });
  const resumedFrom = offset;
  let alreadyComplete = false;

  for (let attempt = 0; attempt < 3; attempt++) {
    // Each request has its own watchdog, from the moment it is sent (a server that never answers is a stall too).
    const watchdog = startTransferWatchdog({
      readTimeoutSeconds: options.readTimeoutSeconds,
      minBytesPerSecond: options.minBytesPerSecond,
      signal,
      what: `download of ${url}`,
    });
    try {
      const done = await attemptDownload(watchdog);
      if (done === "retry") continue;
      if (done === "complete") {
        alreadyComplete = true;
        break;
      }
      return done;
    } finally {
      watchdog.stop();
    }
  }

  async function attemptDownload(watchdog: TransferWatchdog): Promise<DownloadWithResumeResult | "retry" | "complete"> {
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      // If-Range only accepts a strong validator; without one the size and sha256 checks catch a changed file.
      const validator = meta?.etag && !meta.etag.startsWith("W/") ? meta.etag : meta?.lastModified;
      if (validator) headers["if-range"] = validator;
    }
    let res: Response;
    try {
      requests++;
      res = await fetch(url, { headers, signal: watchdog.signal, redirect: "follow" });
    } catch (e) {
      if (watchdog.tripped) throw watchdog.tripped;
      if (isAbort(e, signal))
        throw new ReflexiaError("RFX_CANCELLED", `download of ${url} cancelled`, { receivedBytes: offset });
      const why = fetchFailureReason(e, "use its http:// URL if it serves plain HTTP");
      throw new ReflexiaError("RFX_DOWNLOAD_FAILED", `download of ${url} failed: ${why}`, { url }, { cause: e });
    }

    if (res.status === 416 && offset > 0) {
      await res.body?.cancel();
      const total = parseContentRange(res.headers.get("content-range"))?.total ?? meta?.totalBytes;
      if (total === offset) return "complete";
      offset = 0;
      await rm(partPath, { force: true });
      return "retry";
    }
    if (!res.ok) {
      await res.body?.cancel();
      // A resource that is gone will not come back: drop its partial so the store holds nothing for it.
      if (res.status === 404 || res.status === 410) {
        await rm(partPath, { force: true });
        await rm(metaPath, { force: true });
      }
      throw new ReflexiaError(
        "RFX_DOWNLOAD_FAILED",
        `download of ${url} failed: HTTP ${res.status} ${res.statusText}`.trim(),
        { url, status: res.status },
      );
    }

    let totalBytes: number | undefined;
    let append = false;
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get("content-range"));
      if (!range || range.start !== offset) {
        // A range we did not ask for: start over without Range rather than splice mismatched bytes.
        await res.body?.cancel();
        offset = 0;
        await rm(partPath, { force: true });
        return "retry";
      }
      append = true;
      totalBytes = range.total;
    } else {
      // 200 to a Range request: the server ignored Range or the resource changed (If-Range); restart from zero.
      offset = 0;
      const len = res.headers.get("content-length");
      totalBytes = len !== null && /^\d+$/.test(len) ? Number(len) : undefined;
    }

    meta = {
      url,
      etag: res.headers.get("etag") ?? undefined,
      lastModified: res.headers.get("last-modified") ?? undefined,
      totalBytes,
    };
    await writeFile(metaPath, JSON.stringify(meta));

    const hash: Hash = append ? await feedHash(createHash("sha256"), partPath) : createHash("sha256");
    const out = await open(partPath, append ? "a" : "w");
    let received = offset;
    try {
      if (res.body) {
        for await (const chunk of Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>)) {
          const buf = chunk as Buffer;
          watchdog.progress(buf.length);
          hash.update(buf);
          let off = 0;
          while (off < buf.length) off += (await out.write(buf, off, buf.length - off)).bytesWritten;
          received += buf.length;
          onProgress?.({ receivedBytes: received, totalBytes, resumedFrom });
        }
      }
      await out.sync();
    } catch (e) {
      if (watchdog.tripped) {
        throw new ReflexiaError(
          "RFX_DOWNLOAD_FAILED",
          `${watchdog.tripped.message} (${received} bytes kept)`,
          { url, receivedBytes: received },
          { cause: e },
        );
      }
      if (isAbort(e, signal)) {
        throw new ReflexiaError(
          "RFX_CANCELLED",
          `download of ${url} cancelled after ${received} bytes; pull again to resume`,
          { receivedBytes: received },
        );
      }
      throw new ReflexiaError(
        "RFX_DOWNLOAD_FAILED",
        `download of ${url} interrupted after ${received} bytes (${(e as Error).message}); pull again to resume`,
        { url, receivedBytes: received },
        { cause: e },
      );
    } finally {
      await out.close();
    }

    if (totalBytes !== undefined && received !== totalBytes) {
      if (received > totalBytes) {
        await rm(partPath, { force: true });
        await rm(metaPath, { force: true });
      }
      throw new ReflexiaError(
        "RFX_DOWNLOAD_FAILED",
        `download of ${url} has ${received} bytes, expected ${totalBytes}`,
        { url, receivedBytes: received, totalBytes },
      );
    }
    return { sha256: hash.digest("hex"), sizeBytes: received, resumedFrom, requests };
  }

  if (!alreadyComplete) {
    throw new ReflexiaError(
      "RFX_DOWNLOAD_FAILED",
      `download of ${url} failed: the server kept answering with unusable ranges`,
      { url },
    );
  }
  const size = await sizeOf(partPath);
  const hash = await feedHash(createHash("sha256"), partPath);
  if (meta?.totalBytes !== undefined && size !== meta.totalBytes) {
    throw new ReflexiaError("RFX_DOWNLOAD_FAILED", `download of ${url} could not be resumed`, { url });
  }
  return { sha256: hash.digest("hex"), sizeBytes: size, resumedFrom, requests };
}
