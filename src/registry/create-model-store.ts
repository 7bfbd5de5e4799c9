// The model store on disk: content-addressed GGUF blobs, one manifest per variant, and every way a variant gets in or out.
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join, relative, resolve as resolvePath, sep } from "node:path";
import { QUANTIZATIONS, type Quantization } from "../config/index.ts";
import { ReflexiaError, isReflexiaError } from "../errors/index.ts";
import { readGgufHeader, writeSyntheticModel, estimateModelBytes, estimateMemoryBytes, estimateMemoryBreakdown, isModelShapeName, MODEL_SHAPES, type GgufHeader, type MemoryEstimate } from "../gguf/index.ts";
import { copyFileHashed, feedHash, fsyncDir, fsyncFile, tempPath, writeFileAtomic } from "./atomic-fs.ts";
import { downloadWithResume } from "./download-with-resume.ts";
import { compareByPrecision, fileTypePrecision, tagFromFileType } from "./file-types.ts";
import { assertModelName, assertTag, formatModelRef, parseModelRef } from "./parse-model-ref.ts";
import { defaultOllamaModelsDir, readOllamaModels } from "./read-ollama-models.ts";
import { acquirePidLock, isProcessAlive, withStoreLock } from "./store-lock.ts";
import type {
  AddModelOptions,
  EnsureDefaultModelOptions,
  EnsureDefaultModelResult,
  ModelDetails,
  ModelListing,
  ModelManifest,
  ModelSource,
  OllamaImportResult,
  PullOptions,
  PullResult,
  QuantizeResult,
  ResolvedModel,
  SynthEstimate,
  SynthOptions,
  SynthProgress,
  SynthResult,
} from "./types.ts";

export interface ModelStoreOptions {
  /** Reflexia home; the store lives in `<home>/models`. */
  home: string;
  /** Variant a bare model name resolves to. Defaults to "q4_0" (config `models.default_quantization`). */
  defaultQuantization?: string;
  /** Context size `show` estimates memory for. Defaults to 4096. */
  contextSize?: number;
}

export interface CopyModelOptions {
  /** Replace existing destination variants instead of failing with RFX_MODEL_EXISTS. */
  force?: boolean;
}

export interface ImportOllamaOptions {
  onProgress?: (p: { index: number; total: number; ollamaName: string }) => void;
}

export interface QuantizeVariantsOptions {
  onProgress?: (p: SynthProgress) => void;
}

export interface ModelStore {
  /** `<home>/models`. */
  readonly root: string;
  /** Every model with its variants, by name. */
  list(): Promise<ModelListing[]>;
  /** Variants stored under `name` (empty when none), lowest precision first. */
  variants(name: string): Promise<ModelManifest[]>;
  /**
   * A cheap fingerprint of the variants stored under `name` (one stat of its manifest directory, no reads): every
   * manifest write is a rename into that directory, so an unchanged stamp means unchanged variants.
   */
  catalogStamp(name: string): string;
  /** A variant's blob path and manifest; a bare name resolves to the default quantization. RFX_MODEL_NOT_FOUND otherwise. */
  resolve(ref: string): Promise<ResolvedModel>;
  /** resolve() plus the GGUF header facts of the blob and the estimated memory at the configured context size. */
  show(ref: string): Promise<ModelDetails>;
  /** Validates `path` as GGUF, copies it into the blobs and writes its manifest. */
  add(path: string, options: AddModelOptions): Promise<ModelManifest>;
  /** Removes one variant (`name:tag`) or all of a name; blobs go once no manifest references them. */
  remove(ref: string): Promise<ModelManifest[]>;
  /** New manifests for `dst` pointing at the blobs of `src` (no bytes are copied). */
  copy(src: string, dst: string, options?: CopyModelOptions): Promise<ModelManifest[]>;
  /** Downloads a GGUF over HTTP(S) with resume, checks size, sha256 and format, then adds it. */
  pull(url: string, options: PullOptions): Promise<PullResult>;
  /** Adds every model of an Ollama models directory. Defaults to ~/.ollama/models. */
  importOllama(dir?: string, options?: ImportOllamaOptions): Promise<OllamaImportResult>;
  /** Writes a synthetic model and adds one variant per requested quantization (or only estimates, with dryRun). */
  synth(options: SynthOptions): Promise<SynthResult>;
  /** Creates variants `to` of a model from its most precise stored variant (or from the variant `ref` names). */
  quantize(ref: string, to: Quantization[], options?: QuantizeVariantsOptions): Promise<QuantizeResult>;
  /** Creates the missing variants of the offline default model; `created` says whether anything was written. */
  ensureDefaultModel(options?: EnsureDefaultModelOptions): Promise<EnsureDefaultModelResult>;
}

const DEFAULT_CONTEXT_SIZE = 4096;

// Loaded on first use: the quantizer binds libllama through FFI, which listing or resolving models never needs.
async function quantizeFile(
  input: string,
  output: string,
  type: Quantization,
  options: { allowRequantize?: boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<void> {
  const { quantizeModel } = await import("../engine/quantize.ts");
  await quantizeModel({ input, output, type, allowRequantize: options.allowRequantize, onProgress: options.onProgress });
}

// Sources llama.cpp quantizes from without re-quantizing (and compounding the loss of) already quantized weights.
const UNQUANTIZED = new Set(["f32", "f16", "bf16"]);
const TEMP_PREFIX = ".tmp-";

function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

function digestHex(digest: string): string {
  return digest.replace(/^sha256:/, "");
}

function notFound(ref: string, hint = ""): ReflexiaError {
  return new ReflexiaError("RFX_MODEL_NOT_FOUND", `model ${ref} not found${hint}`, { model: ref });
}

function exists(ref: string): ReflexiaError {
  return new ReflexiaError("RFX_MODEL_EXISTS", `model ${ref} already exists (remove it first, or replace it with --force)`, { model: ref });
}

function validateQuantizations(quants: readonly string[], what: string): Quantization[] {
  if (quants.length === 0) throw new ReflexiaError("RFX_VALIDATION", `${what}: name at least one quantization (${QUANTIZATIONS.join(", ")})`);
  for (const q of quants) {
    if (!(QUANTIZATIONS as readonly string[]).includes(q)) {
      throw new ReflexiaError("RFX_VALIDATION", `${what}: unknown quantization ${JSON.stringify(q)} (supported: ${QUANTIZATIONS.join(", ")})`, { quantization: q });
    }
  }
  return [...new Set(quants)] as Quantization[];
}

function isManifest(x: unknown): x is ModelManifest {
  const m = x as ModelManifest;
  return Boolean(m) && typeof m.name === "string" && typeof m.tag === "string" && typeof m.digest === "string" && /^sha256:[0-9a-f]{64}$/.test(m.digest);
}

function manifestFromHeader(
  name: string,
  tag: string,
  digest: string,
  sizeBytes: number,
  header: GgufHeader,
  source: ModelSource,
): ModelManifest {
  return {
    name,
    tag,
    quantization: header.fileType,
    digest: `sha256:${digest}`,
    sizeBytes,
    format: "gguf",
    architecture: header.architecture,
    parameterCount: header.parameterCount,
    contextLength: header.contextLength,
    fileType: header.fileType,
    source,
    createdAt: new Date().toISOString(),
  };
}

/**
 * Memory to run a stored variant: the real file size for the mapped weights, plus what the estimator predicts for
 * its llama-style dims and file type (repacked weight copies, KV cache, compute buffers). A file type the estimator
 * does not model still gets KV and compute (they do not depend on it); dims it cannot model count the file only.
 */
function estimateVariantMemory(header: GgufHeader, sizeBytes: number, contextSize: number): MemoryEstimate {
  const dims = {
    nVocab: header.vocabSize,
    nEmbd: header.embeddingLength,
    nLayer: header.blockCount,
    nHead: header.headCount,
    nHeadKv: header.headCountKv,
    nFf: header.feedForwardLength,
    nCtx: header.contextLength || contextSize,
  };
  const withFile = (b: MemoryEstimate, repackBytes: number): MemoryEstimate => ({
    weightsBytes: sizeBytes,
    repackBytes,
    kvCacheBytes: b.kvCacheBytes,
    computeBytes: b.computeBytes,
    totalBytes: sizeBytes + repackBytes + b.kvCacheBytes + b.computeBytes,
  });
  try {
    const b = estimateMemoryBreakdown(dims, header.fileType, contextSize);
    return withFile(b, b.repackBytes);
  } catch {
    try {
      return withFile(estimateMemoryBreakdown(dims, "f16", contextSize), 0);
    } catch {
      return { weightsBytes: sizeBytes, repackBytes: 0, kvCacheBytes: 0, computeBytes: 0, totalBytes: sizeBytes };
    }
  }
}

/** A finished GGUF file inside the store's tmp/ or partial/ directory, validated and hashed, ready to become a blob. */
interface StagedFile {
  path: string;
  sha256: string;
  sizeBytes: number;
  header: GgufHeader;
  name: string;
  tag: string;
  source: ModelSource;
}

export function createModelStore(options: ModelStoreOptions): ModelStore {
  const root = join(resolvePath(options.home), "models");
  const blobsDir = join(root, "blobs");
  const manifestsDir = join(root, "manifests");
  const partialDir = join(root, "partial");
  const tmpDir = join(root, "tmp");
  const lockPath = join(root, ".lock");
  const defaultQuantization = options.defaultQuantization ?? "q4_0";
  const contextSize = options.contextSize ?? DEFAULT_CONTEXT_SIZE;

  const blobPath = (digest: string) => join(blobsDir, `sha256-${digestHex(digest)}`);
  const manifestPath = (name: string, tag: string) => join(manifestsDir, ...name.split("/"), `${tag}.json`);

  /** Runs `fn` under the store lock (creating the store root so the lock file has a home). */
  async function locked<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(root, { recursive: true });
    return withStoreLock(lockPath, fn);
  }

  async function ensureDirs(): Promise<void> {
    for (const d of [blobsDir, manifestsDir, partialDir, tmpDir]) await mkdir(d, { recursive: true });
  }

  async function readManifest(name: string, tag: string): Promise<ModelManifest | undefined> {
    try {
      const m = JSON.parse(await readFile(manifestPath(name, tag), "utf8"));
      return isManifest(m) ? m : undefined;
    } catch {
      return undefined;
    }
  }

  async function allManifests(): Promise<ModelManifest[]> {
    const out: ModelManifest[] = [];
    async function walk(dir: string): Promise<void> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (e.name.startsWith(TEMP_PREFIX)) continue;
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && e.name.endsWith(".json")) {
          const name = relative(manifestsDir, dir).split(sep).join("/");
          const tag = e.name.slice(0, -5);
          const m = await readManifest(name, tag);
          // The path is the identity: a manifest copied by hand under another name still lists where it lies.
          if (m) out.push({ ...m, name, tag });
        }
      }
    }
    await walk(manifestsDir);
    return out;
  }

  function catalogStamp(name: string): string {
    try {
      const st = statSync(dirname(manifestPath(name, "x")), { bigint: true });
      return `${st.ino}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch {
      return "absent";
    }
  }

  async function variants(name: string): Promise<ModelManifest[]> {
    assertModelName(name);
    const dir = join(manifestsDir, ...name.split("/"));
    let files: string[];
    try {
      files = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith(".json") && !e.name.startsWith(TEMP_PREFIX)).map((e) => e.name);
    } catch {
      return [];
    }
    const out: ModelManifest[] = [];
    for (const f of files) {
      const m = await readManifest(name, f.slice(0, -5));
      if (m) out.push({ ...m, name, tag: f.slice(0, -5) });
    }
    return out.sort((a, b) => compareByPrecision(a.quantization, b.quantization) || a.tag.localeCompare(b.tag));
  }

  /** Deletes blobs no manifest references and temp files of dead processes; call only under the store lock. */
  async function collectGarbage(): Promise<void> {
    const referenced = new Set((await allManifests()).map((m) => `sha256-${digestHex(m.digest)}`));
    for (const f of await readdir(blobsDir).catch(() => [] as string[])) {
      if (f.startsWith("sha256-") && !referenced.has(f)) await rm(join(blobsDir, f), { force: true });
    }
    await fsyncDir(blobsDir);
    for (const f of await readdir(tmpDir).catch(() => [] as string[])) {
      const pid = Number(/^\.tmp-(\d+)-/.exec(f)?.[1]);
      if (pid && pid !== process.pid && !isProcessAlive(pid)) await rm(join(tmpDir, f), { force: true });
    }
  }

  async function removeEmptyNameDirs(name: string): Promise<void> {
    let dir = dirname(manifestPath(name, "x"));
    while (dir !== manifestsDir && dir.startsWith(manifestsDir)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty
      }
      dir = dirname(dir);
    }
  }

  /**
   * Moves staged files into blobs/ and writes their manifests, all under the store lock.
   * Every blob is in place (and fsynced) before the first manifest naming it is written, so a crash can leave an
   * unreferenced blob (collected later) but never a manifest pointing at a missing blob.
   */
  async function commit(staged: StagedFile[], force: boolean): Promise<ModelManifest[]> {
    return locked(async () => {
      if (!force) {
        for (const s of staged) if (await readManifest(s.name, s.tag)) throw exists(`${s.name}:${s.tag}`);
      }
      const manifests: ModelManifest[] = [];
      for (const s of staged) {
        const target = blobPath(s.sha256);
        if (existsSync(target)) await rm(s.path, { force: true });
        else await rename(s.path, target);
        manifests.push(manifestFromHeader(s.name, s.tag, s.sha256, s.sizeBytes, s.header, s.source));
      }
      await fsyncDir(blobsDir);
      for (const m of manifests) await writeFileAtomic(manifestPath(m.name, m.tag), JSON.stringify(m, null, 2) + "\n");
      // A forced overwrite may have orphaned the blob of the variant it replaced.
      if (force) await collectGarbage();
      return manifests;
    });
  }

  /** Validates and hashes a file already inside the store (tmp/ or partial/) so it can be committed by rename. */
  async function stageInPlace(path: string, name: string, tag: string | undefined, source: ModelSource): Promise<StagedFile> {
    const header = await readGgufHeader(path);
    await fsyncFile(path);
    const hash = await feedHash(createHash("sha256"), path);
    const { size } = await stat(path);
    return { path, sha256: hash.digest("hex"), sizeBytes: size, header, name, tag: tag ?? tagFromFileType(header.fileType), source };
  }

  /** Validates `src` as GGUF first (so a bad file never touches the store), then copies it into tmp/ while hashing. */
  async function stageCopy(src: string, name: string, tag: string | undefined, source: ModelSource, force: boolean, expectedSha256?: string): Promise<StagedFile> {
    const header = await readGgufHeader(src);
    const finalTag = tag ?? tagFromFileType(header.fileType);
    assertTag(finalTag);
    if (!force && (await readManifest(name, finalTag))) throw exists(`${name}:${finalTag}`);
    await ensureDirs();
    const tmp = tempPath(tmpDir, ".gguf");
    try {
      const { sha256, sizeBytes } = await copyFileHashed(src, tmp);
      if (sizeBytes !== header.fileSizeBytes) {
        throw new ReflexiaError("RFX_INVALID_GGUF", `${src}: changed while it was being copied`, { path: src });
      }
      if (expectedSha256 && sha256 !== expectedSha256) {
        throw new ReflexiaError("RFX_INVALID_GGUF", `${src}: sha256 ${sha256} does not match its name ${expectedSha256}`, { path: src });
      }
      return { path: tmp, sha256, sizeBytes, header, name, tag: finalTag, source };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async function resolve(ref: string): Promise<ResolvedModel> {
    const parsed = parseModelRef(ref);
    let manifest: ModelManifest | undefined;
    if (parsed.tag) {
      manifest = await readManifest(parsed.name, parsed.tag);
      if (!manifest) {
        const tags = (await variants(parsed.name)).map((v) => v.tag);
        throw notFound(formatModelRef(parsed), tags.length ? ` (available: ${tags.map((t) => `${parsed.name}:${t}`).join(", ")})` : "");
      }
      manifest = { ...manifest, name: parsed.name, tag: parsed.tag };
    } else {
      const all = await variants(parsed.name);
      if (all.length === 0) throw notFound(parsed.name);
      // The configured default first, then a conventional "latest", then the smallest file (cheapest to load).
      manifest =
        all.find((v) => v.tag === defaultQuantization) ??
        all.find((v) => v.quantization === defaultQuantization) ??
        all.find((v) => v.tag === "latest") ??
        [...all].sort((a, b) => a.sizeBytes - b.sizeBytes)[0];
    }
    const path = blobPath(manifest.digest);
    if (!existsSync(path)) throw notFound(`${manifest.name}:${manifest.tag}`, ` (its blob ${manifest.digest} is missing; add the model again)`);
    return { name: manifest.name, tag: manifest.tag, quantization: manifest.quantization, path, sizeBytes: manifest.sizeBytes, manifest };
  }

  async function list(): Promise<ModelListing[]> {
    const byName = new Map<string, ModelManifest[]>();
    for (const m of await allManifests()) byName.set(m.name, [...(byName.get(m.name) ?? []), m]);
    return [...byName.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, vs]) => {
        vs.sort((a, b) => compareByPrecision(a.quantization, b.quantization) || a.tag.localeCompare(b.tag));
        const unique = new Map(vs.map((v) => [v.digest, v.sizeBytes]));
        return { name, variants: vs, totalBytes: [...unique.values()].reduce((a, b) => a + b, 0) };
      });
  }

  async function show(ref: string): Promise<ModelDetails> {
    const r = await resolve(ref);
    const header = await readGgufHeader(r.path);
    // The engine caps the context at the model's training context; estimate what it would really allocate.
    const ctx = header.contextLength > 0 ? Math.min(contextSize, header.contextLength) : contextSize;
    const memory = estimateVariantMemory(header, r.sizeBytes, ctx);
    return {
      ...r,
      gguf: {
        version: header.version,
        architecture: header.architecture,
        parameterCount: header.parameterCount,
        contextLength: header.contextLength,
        fileType: header.fileType,
        tensorCount: header.tensorCount,
        embeddingLength: header.embeddingLength,
        blockCount: header.blockCount,
        headCount: header.headCount,
        headCountKv: header.headCountKv,
        feedForwardLength: header.feedForwardLength,
        vocabSize: header.vocabSize,
        alignment: header.alignment,
      },
      estimatedMemoryBytes: memory.totalBytes,
      estimatedMemory: memory,
      contextSize: ctx,
      variants: (await variants(r.name)).map((v) => v.tag),
    };
  }

  async function add(path: string, opts: AddModelOptions): Promise<ModelManifest> {
    assertModelName(opts.name);
    if (opts.tag !== undefined) assertTag(opts.tag);
    const abs = resolvePath(path);
    const staged = await stageCopy(abs, opts.name, opts.tag, opts.source ?? { kind: "file", from: abs }, Boolean(opts.force));
    try {
      return (await commit([staged], Boolean(opts.force)))[0];
    } finally {
      await rm(staged.path, { force: true });
    }
  }

  async function remove(ref: string): Promise<ModelManifest[]> {
    const parsed = parseModelRef(ref);
    const lookup = async () =>
      parsed.tag ? [await readManifest(parsed.name, parsed.tag)].filter((m): m is ModelManifest => Boolean(m)) : await variants(parsed.name);
    // Unknown refs fail before the lock, so a typo never creates or touches anything.
    if ((await lookup()).length === 0) throw notFound(formatModelRef(parsed));
    return locked(async () => {
      const targets = await lookup();
      if (targets.length === 0) throw notFound(formatModelRef(parsed));
      // Manifests go first: after a crash at any point no manifest names a deleted blob.
      for (const m of targets) await rm(manifestPath(parsed.name, m.tag), { force: true });
      await fsyncDir(dirname(manifestPath(parsed.name, "x")));
      await removeEmptyNameDirs(parsed.name);
      await collectGarbage();
      return targets.map((m) => ({ ...m, name: parsed.name }));
    });
  }

  async function copy(src: string, dst: string, opts: CopyModelOptions = {}): Promise<ModelManifest[]> {
    const from = parseModelRef(src);
    const to = parseModelRef(dst);
    const sources = from.tag || to.tag ? [(await resolve(src)).manifest] : await variants(from.name);
    if (sources.length === 0) throw notFound(formatModelRef(from));
    return locked(async () => {
      const created: ModelManifest[] = [];
      const planned = sources.map((m) => ({ src: m, tag: to.tag ?? m.tag }));
      if (!opts.force) for (const p of planned) if (await readManifest(to.name, p.tag)) throw exists(`${to.name}:${p.tag}`);
      for (const p of planned) {
        // The blob must still be there: a concurrent remove could have collected it since resolve().
        if (!existsSync(blobPath(p.src.digest))) throw notFound(`${p.src.name}:${p.src.tag}`, " (its blob is missing)");
        const m: ModelManifest = { ...p.src, name: to.name, tag: p.tag, source: { kind: "copy", from: `${p.src.name}:${p.src.tag}` }, createdAt: new Date().toISOString() };
        await writeFileAtomic(manifestPath(m.name, m.tag), JSON.stringify(m, null, 2) + "\n");
        created.push(m);
      }
      if (opts.force) await collectGarbage();
      return created;
    });
  }

  async function pull(url: string, opts: PullOptions): Promise<PullResult> {
    let parsedUrl: URL;
    try {
      parsedUrl = new URL(url);
    } catch {
      throw new ReflexiaError("RFX_VALIDATION", `not a URL: ${JSON.stringify(url)}`, { url });
    }
    if (parsedUrl.protocol !== "http:" && parsedUrl.protocol !== "https:") {
      throw new ReflexiaError("RFX_VALIDATION", `only http and https URLs can be pulled (got ${parsedUrl.protocol})`, { url });
    }
    assertModelName(opts.name);
    if (opts.tag !== undefined) assertTag(opts.tag);
    const expected = opts.sha256?.toLowerCase().replace(/^sha256:/, "");
    if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
      throw new ReflexiaError("RFX_VALIDATION", `--sha256 must be 64 hex digits (got ${JSON.stringify(opts.sha256)})`);
    }
    if (opts.tag && !opts.force && (await readManifest(opts.name, opts.tag))) throw exists(`${opts.name}:${opts.tag}`);

    await ensureDirs();
    const key = sha256Hex(parsedUrl.href).slice(0, 32);
    const partPath = join(partialDir, `${key}.part`);
    const metaPath = join(partialDir, `${key}.json`);
    const release = await acquirePidLock(join(partialDir, `${key}.lock`), 0, `the download of ${url}`);
    const discard = async () => {
      await rm(partPath, { force: true });
      await rm(metaPath, { force: true });
    };
    try {
      const dl = await downloadWithResume({ url: parsedUrl.href, partPath, metaPath, onProgress: opts.onProgress, signal: opts.signal });
      if (expected !== undefined && dl.sha256 !== expected) {
        await discard();
        throw new ReflexiaError("RFX_DOWNLOAD_FAILED", `sha256 mismatch for ${url}: expected ${expected}, got ${dl.sha256}`, { url, expected, actual: dl.sha256 });
      }
      let header: GgufHeader;
      try {
        header = await readGgufHeader(partPath);
      } catch (e) {
        await discard();
        throw e;
      }
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
        const [manifest] = await commit([staged], Boolean(opts.force));
        return { manifest, resumedFrom: dl.resumedFrom, requests: dl.requests };
      } finally {
        await discard();
      }
    } finally {
      await release();
    }
  }

  async function importOllama(dir: string = defaultOllamaModelsDir(), opts: ImportOllamaOptions = {}): Promise<OllamaImportResult> {
    const entries = await readOllamaModels(dir);
    const result: OllamaImportResult = { imported: [], skipped: [] };
    for (const [index, e] of entries.entries()) {
      opts.onProgress?.({ index, total: entries.length, ollamaName: e.ollamaName });
      if (e.problem || !e.blobPath || !e.digest) {
        result.skipped.push({ ollamaName: e.ollamaName, reason: e.problem ?? "no model blob" });
        continue;
      }
      try {
        assertModelName(e.name);
        assertTag(e.tag);
        const existing = await readManifest(e.name, e.tag);
        if (existing) {
          result.skipped.push({ ollamaName: e.ollamaName, reason: existing.digest === e.digest ? `already imported as ${e.name}:${e.tag}` : `${e.name}:${e.tag} exists with other content` });
          continue;
        }
        const staged = await stageCopy(e.blobPath, e.name, e.tag, { kind: "ollama", from: e.ollamaName }, false, digestHex(e.digest));
        try {
          result.imported.push(...(await commit([staged], false)));
        } finally {
          await rm(staged.path, { force: true });
        }
      } catch (err) {
        if (!isReflexiaError(err)) throw err;
        result.skipped.push({ ollamaName: e.ollamaName, reason: err.message });
      }
    }
    return result;
  }

  /** Runs `produce` into fresh temp files, stages each, commits them together, and always cleans the temp files. */
  async function produceAndCommit(
    jobs: { tag: string; source: ModelSource; produce: (out: string) => Promise<void> }[],
    name: string,
    force: boolean,
  ): Promise<ModelManifest[]> {
    await ensureDirs();
    const temps: string[] = [];
    try {
      const staged: StagedFile[] = [];
      for (const job of jobs) {
        const out = tempPath(tmpDir, ".gguf");
        temps.push(out);
        await job.produce(out);
        staged.push(await stageInPlace(out, name, job.tag, job.source));
      }
      return await commit(staged, force);
    } finally {
      for (const t of temps) await rm(t, { force: true });
    }
  }

  async function synth(opts: SynthOptions): Promise<SynthResult> {
    if (!isModelShapeName(opts.shape)) {
      throw new ReflexiaError("RFX_VALIDATION", `unknown shape ${JSON.stringify(opts.shape)} (known: tiny, small, 1b, 3b, 7b)`, { shape: opts.shape });
    }
    const shape = opts.shape;
    const quants = validateQuantizations(opts.quant, "synth");
    assertModelName(opts.name);
    if (opts.dryRun) {
      const ctx = Math.min(contextSize, MODEL_SHAPES[shape].nCtx);
      const estimates: SynthEstimate[] = quants.map((q) => ({
        quantization: q,
        estimatedBytes: estimateModelBytes(shape, q),
        estimatedMemoryBytes: estimateMemoryBytes(shape, q, ctx),
        contextSize: ctx,
      }));
      return { dryRun: true, name: opts.name, shape, estimates, created: [] };
    }
    const force = Boolean(opts.force);
    if (!force) for (const q of quants) if (await readManifest(opts.name, q)) throw exists(`${opts.name}:${q}`);
    await ensureDirs();
    const f16 = tempPath(tmpDir, ".f16.gguf");
    const source: ModelSource = { kind: "synth", from: `${shape} seed=${opts.seed ?? 42}` };
    try {
      await writeSyntheticModel({
        path: f16,
        shape,
        seed: opts.seed,
        name: opts.name,
        onProgress: (done, total) => opts.onProgress?.({ phase: "write", done, total }),
      });
      // f16 goes last so it can be committed by renaming the source file after every quantization read it.
      const ordered = [...quants.filter((q) => q !== "f16"), ...quants.filter((q) => q === "f16")];
      const created = await produceAndCommit(
        ordered.map((q, i) => ({
          tag: q,
          source,
          produce: async (out: string) => {
            opts.onProgress?.({ phase: "quantize", quantization: q, done: i, total: ordered.length });
            if (q === "f16") await rename(f16, out);
            else await quantizeFile(f16, out, q, { onProgress: (done, total) => opts.onProgress?.({ phase: "quantize", quantization: q, done: i + done / total, total: ordered.length }) });
          },
        })),
        opts.name,
        force,
      );
      opts.onProgress?.({ phase: "add", done: created.length, total: created.length });
      return { dryRun: false, name: opts.name, shape, estimates: [], created };
    } finally {
      await rm(f16, { force: true });
    }
  }

  async function quantize(ref: string, to: Quantization[], opts: QuantizeVariantsOptions = {}): Promise<QuantizeResult> {
    const parsed = parseModelRef(ref);
    const targets = validateQuantizations(to, "quantize");
    const all = await variants(parsed.name);
    if (all.length === 0) throw notFound(parsed.name);
    const from = parsed.tag ? (await resolve(ref)).manifest : all[all.length - 1]; // variants() sorts most precise last
    const fromPath = blobPath(from.digest);
    const skipped: QuantizeResult["skipped"] = [];
    const todo: Quantization[] = [];
    for (const q of targets) {
      if (all.some((v) => v.tag === q)) skipped.push({ tag: q, reason: `${parsed.name}:${q} already exists` });
      else if (fileTypePrecision(q) > fileTypePrecision(from.quantization)) {
        skipped.push({ tag: q, reason: `the most precise source, ${from.name}:${from.tag} (${from.quantization}), is less precise than ${q}` });
      } else todo.push(q);
    }
    const source: ModelSource = { kind: "quantize", from: `${from.name}:${from.tag}` };
    const requantized = todo.length > 0 && !UNQUANTIZED.has(from.quantization);
    const created = await produceAndCommit(
      todo.map((q, i) => ({
        tag: q,
        source,
        produce: async (out: string) => {
          opts.onProgress?.({ phase: "quantize", quantization: q, done: i, total: todo.length });
          await quantizeFile(fromPath, out, q, {
            allowRequantize: requantized,
            onProgress: (done, total) => opts.onProgress?.({ phase: "quantize", quantization: q, done: i + done / total, total: todo.length }),
          });
        },
      })),
      parsed.name,
      false,
    );
    return { from, created, skipped, requantized };
  }

  async function ensureDefaultModel(opts: EnsureDefaultModelOptions = {}): Promise<EnsureDefaultModelResult> {
    const name = opts.name ?? "reflexia-tiny";
    const quants = validateQuantizations(opts.quants ?? [...QUANTIZATIONS], "default model");
    const have = new Set((await variants(name)).map((v) => v.tag));
    const missing = quants.filter((q) => !have.has(q));
    if (missing.length === 0) return { created: false, name, createdTags: [] };
    const r = await synth({ shape: opts.shape ?? "tiny", quant: missing, name, seed: opts.seed ?? 42, onProgress: opts.onProgress });
    return { created: true, name, createdTags: r.created.map((m) => m.tag) };
  }

  return { root, list, variants, catalogStamp, resolve, show, add, remove, copy, pull, importOllama, synth, quantize, ensureDefaultModel };
}
