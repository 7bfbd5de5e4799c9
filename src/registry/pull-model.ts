// Pulling a model over HTTP(S): resumable download into partial/, sha256 and GGUF checks, then one commit.
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { isReflexiaError, ReflexiaError } from "../errors/index.ts";
import { modelProblem, readGgufHeader, type GgufHeader } from "../gguf/index.ts";
import { downloadWithResume } from "./download-with-resume.ts";
import { assertTagFitsFileType, tagFromFileType } from "./file-types.ts";
import { modelExists, type ModelCatalog, type StagedFile } from "./model-catalog.ts";
import { assertModelName, assertTag } from "./parse-model-ref.ts";
import { acquirePidLock } from "./store-lock.ts";
import type { PullOptions, PullResult } from "./types.ts";

function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** Downloads a GGUF over HTTP(S) with resume, checks size, sha256 and format, then commits it. */
export async function pullModel(catalog: ModelCatalog, url: string, opts: PullOptions): Promise<PullResult> {
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new ReflexiaError("RFX_VALIDATION", `not a URL: ${JSON.stringify(url)}`, { url });
  }
  if (parsedUrl.protocol !== "http:" && parsedUrl.protocol !== "https:") {
    throw new ReflexiaError("RFX_VALIDATION", `only http and https URLs can be pulled (got ${parsedUrl.protocol})`, {
      url,
    });
  }
  assertModelName(opts.name);
  if (opts.tag !== undefined) assertTag(opts.tag);
  const expected = opts.sha256?.toLowerCase().replace(/^sha256:/, "");
  if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
    throw new ReflexiaError("RFX_VALIDATION", `--sha256 must be 64 hex digits (got ${JSON.stringify(opts.sha256)})`);
  }
  if (opts.tag && !opts.force && (await catalog.readManifest(opts.name, opts.tag)))
    throw modelExists(`${opts.name}:${opts.tag}`);

  await catalog.ensureDirs();
  const key = sha256Hex(parsedUrl.href).slice(0, 32);
  const partPath = join(catalog.partialDir, `${key}.part`);
  const metaPath = join(catalog.partialDir, `${key}.json`);
  const release = await acquirePidLock(join(catalog.partialDir, `${key}.lock`), 0, `the download of ${url}`);
  // The tag is checked against the header as soon as it has arrived, not after the whole file (the partial is kept:
  // the same pull with --force or a fitting --tag resumes it): a --tag must fit the file type; without --tag the tag
  // is the file type, which must not be taken.
  const early = new AbortController();
  let taken: ReflexiaError | undefined;
  let nextTry = 0;
  const checkTag = async (received: number) => {
    if ((opts.tag === undefined && opts.force) || taken || received < nextTry) return;
    nextTry = Math.max(received * 2, 64 * 1024);
    const header = await readGgufHeader(partPath, { dataMayBeCut: true }).catch(() => undefined);
    if (!header) return;
    nextTry = Infinity;
    if (opts.tag !== undefined) {
      try {
        assertTagFitsFileType(opts.name, opts.tag, header.fileType);
      } catch (e) {
        taken = e as ReflexiaError;
        early.abort();
      }
      return;
    }
    const tag = tagFromFileType(header.fileType);
    if (await catalog.readManifest(opts.name, tag)) {
      taken = modelExists(`${opts.name}:${tag}`);
      early.abort();
    }
  };
  let checking = Promise.resolve();
  const discard = async () => {
    await rm(partPath, { force: true });
    await rm(metaPath, { force: true });
  };
  try {
    const dl = await downloadWithResume({
      url: parsedUrl.href,
      partPath,
      metaPath,
      onProgress: (p) => {
        opts.onProgress?.(p);
        checking = checking.then(() => checkTag(p.receivedBytes));
      },
      signal: opts.signal ? AbortSignal.any([opts.signal, early.signal]) : early.signal,
      readTimeoutSeconds: opts.readTimeoutSeconds,
      minBytesPerSecond: opts.minBytesPerSecond,
    }).catch(async (e: unknown) => {
      await checking;
      throw taken ?? e;
    });
    await checking;
    if (taken) throw taken;
    if (expected !== undefined && dl.sha256 !== expected) {
      await discard();
      throw new ReflexiaError(
        "RFX_DOWNLOAD_FAILED",
        `sha256 mismatch for ${url}: expected ${expected}, got ${dl.sha256}`,
        { url, expected, actual: dl.sha256 },
      );
    }
    let header: GgufHeader;
    try {
      header = await readGgufHeader(partPath);
    } catch (e) {
      await discard();
      // The part file is the store's internals: name what the user gave.
      const why = isReflexiaError(e) ? e.message.replace(`${partPath}: `, "") : String(e);
      throw new ReflexiaError("RFX_INVALID_GGUF", `${url}: ${why}; only GGUF files can be pulled`, { url });
    }
    const problem = modelProblem(header);
    if (problem) {
      await discard();
      throw new ReflexiaError("RFX_INVALID_GGUF", `${url}: ${problem}`, { url });
    }
    // The file stays in partial/: the same URL with a fitting tag completes at once.
    if (opts.tag !== undefined) assertTagFitsFileType(opts.name, opts.tag, header.fileType);
    const staged: StagedFile = {
      path: partPath,
      sha256: dl.sha256,
      sizeBytes: dl.sizeBytes,
      header,
      name: opts.name,
      tag: opts.tag ?? tagFromFileType(header.fileType),
      source: { kind: "url", from: parsedUrl.href },
    };
    try {
      const [manifest] = await catalog.commit([staged], Boolean(opts.force));
      return { manifest, resumedFrom: dl.resumedFrom, requests: dl.requests };
    } finally {
      await discard();
    }
  } finally {
    await release();
  }
}
