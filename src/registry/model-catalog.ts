// The model catalog on disk: content-addressed GGUF blobs and one manifest per variant; resolve, list, show, add,
// remove, copy, and the staged commit and garbage collection every way a model comes in goes through.
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join, relative, resolve as resolvePath, sep } from "node:path";
import { CONFIG_DEFAULTS } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import {
  readGgufHeader,
  readModelHeader,
  modelProblem,
  LLAMA_FTYPE_BY_NAME,
  estimateMemoryBreakdown,
  ggufValueToJson,
  type GgufHeader,
  type MemoryEstimate,
} from "../gguf/index.ts";
import { copyFileHashed, feedHash, fsyncDir, fsyncFile, isOrphanTemp, tempPath, writeFileAtomic } from "./atomic-fs.ts";
import { assertTagFitsFileType, compareByPrecision, tagFromFileType } from "./file-types.ts";
import {
  assertModelName,
  assertTag,
  formatModelRef,
  lookupRef,
  parseModelRef,
  type ModelRef,
} from "./parse-model-ref.ts";
import { isRemoteManifest, remoteManifest } from "./remote-variants.ts";
import { withStoreLock } from "./store-lock.ts";
import type {
  AddModelOptions,
  AddRemoteOptions,
  ModelDetails,
  ModelListing,
  ModelManifest,
  ModelfileSettings,
  ModelSource,
  ResolvedModel,
} from "./types.ts";

export interface ModelCatalogOptions {
  /** Reflexia home; the store lives in `<home>/models`. */
  home: string;
  /** Variant a bare model name resolves to. Defaults to config `models.default_quantization`. */
  defaultQuantization?: string;
  /** Context size `show` estimates memory for. Defaults to config `models.context_size`. */
  contextSize?: number;
  /** Remote variants declared in config (remote.models); a stored variant of the same name:tag takes precedence. */
  declared?: readonly ModelManifest[];
}

export interface CopyModelOptions {
  /** Replace existing destination variants instead of failing with RFX_MODEL_EXISTS. */
  force?: boolean;
  /** Settings of the copies: each field given replaces the source's (absent fields keep the source's). */
  modelfile?: ModelfileSettings;
  /** Recorded as the copies' source. Defaults to {kind: "copy", from: <source ref>}. */
  source?: ModelSource;
}

/** One file a way-in produces, under the tag and source (and settings) it will be committed as. */
export interface ProduceJob {
  tag: string;
  source: ModelSource;
  /** Stored with the variant's manifest. */
  modelfile?: ModelfileSettings;
  produce: (out: string) => Promise<void>;
}

export interface ModelCatalog {
  /** `<home>/models`. */
  readonly root: string;
  /** Staging directory for files copied or produced into the store (same filesystem as the blobs). */
  readonly tmpDir: string;
  /** Resumable downloads live here until they are committed. */
  readonly partialDir: string;
  /** Context size memory estimates are made for. */
  readonly contextSize: number;
  /** Every model with its variants, by name. */
  list(): Promise<ModelListing[]>;
  /** Variants stored under `name` (empty when none), lowest precision first. */
  variants(name: string): Promise<ModelManifest[]>;
  /**
   * A cheap fingerprint of the variants stored under `name` (one stat of its manifest directory, no reads): every
   * manifest write is a rename into that directory, so an unchanged stamp means unchanged variants.
   */
  catalogStamp(name: string): string;
  /**
   * A variant's blob path and manifest; a bare name resolves to the default quantization. RFX_MODEL_NOT_FOUND
   * otherwise, and when the blob is missing unless `requireBlob` is false (what removing such a variant needs).
   */
  resolve(ref: string, options?: { requireBlob?: boolean }): Promise<ResolvedModel>;
  /**
   * resolve() plus the GGUF header facts of the blob and the estimated memory at the configured context size; with
   * `metadata`, `gguf.metadata` carries every key of the header, arrays (the vocabulary) whole.
   */
  show(ref: string, options?: { metadata?: boolean }): Promise<ModelDetails>;
  /** Validates `path` as GGUF, copies it into the blobs and writes its manifest. */
  add(path: string, options: AddModelOptions): Promise<ModelManifest>;
  /** Writes the manifest of a remote variant (no blob): RFX_MODEL_EXISTS unless force. */
  addRemote(options: AddRemoteOptions): Promise<ModelManifest>;
  /** Removes one variant (`name:tag`) or all of a name; blobs go once no manifest references them. */
  remove(ref: string): Promise<ModelManifest[]>;
  /** New manifests for `dst` pointing at the blobs of `src` (no bytes are copied). */
  copy(src: string, dst: string, options?: CopyModelOptions): Promise<ModelManifest[]>;
  /**
   * What copy(src, dst) would refuse regardless of the destination's contents, refused without writing: a missing
   * source, a destination tag that names another quantization than the file's. (A taken destination is copy's.)
   */
  checkCopy(src: string, dst: string): Promise<void>;
  /** The manifest of `name:tag`, or undefined when there is none (or it is unreadable). */
  readManifest(name: string, tag: string): Promise<ModelManifest | undefined>;
  /** Where the blob of `digest` (`sha256:<hex>` or hex) lives. */
  blobPath(digest: string): string;
  /** Creates blobs/, manifests/, partial/ and tmp/. */
  ensureDirs(): Promise<void>;
  /** Moves staged files into blobs/ and writes their manifests under the store lock (RFX_MODEL_EXISTS unless force). */
  commit(staged: StagedFile[], force: boolean): Promise<ModelManifest[]>;
  /** Validates `src` as GGUF, then copies it into tmp/ while hashing (the caller removes the copy when done). */
  stageCopy(
    src: string,
    name: string,
    tag: string | undefined,
    source: ModelSource,
    force: boolean,
    expectedSha256?: string,
  ): Promise<StagedFile>;
  /** Runs each job into a fresh temp file, stages each, commits them together, and always cleans the temp files. */
  produceAndCommit(jobs: ProduceJob[], name: string, force: boolean): Promise<ModelManifest[]>;
}

const TEMP_PREFIX = ".tmp-";

export function digestHex(digest: string): string {
  return digest.replace(/^sha256:/, "");
}

/** RFX_MODEL_NOT_FOUND for `ref`, with an optional hint after the name. */
export function modelNotFound(ref: string, hint = ""): ReflexiaError {
  return new ReflexiaError("RFX_MODEL_NOT_FOUND", `model ${JSON.stringify(ref)} not found${hint}`, { model: ref });
}

/** RFX_MODEL_EXISTS for `ref`. */
export function modelExists(ref: string): ReflexiaError {
  return new ReflexiaError(
    "RFX_MODEL_EXISTS",
    `model ${ref} already exists (remove it first, or replace it with --force)`,
    { model: ref },
  );
}

/** The GGUF's general.file_type as the integer it is (llama.cpp's LLAMA_FTYPE), else the one its name stands for. */
function fileTypeIdOf(header: GgufHeader): { fileTypeId?: number } {
  const raw = header.metadata["general.file_type"];
  const id = typeof raw === "number" ? raw : LLAMA_FTYPE_BY_NAME.get(header.fileType);
  return id === undefined ? {} : { fileTypeId: id };
}

/** What the file says about prompting it: its chat template, and whether it has fill-in-the-middle tokens. */
function chatFactsOf(m: GgufHeader["metadata"]): { chatTemplate?: string; fillInMiddle: boolean } {
  const t = m["tokenizer.chat_template"];
  // llama.cpp reads fim_{pre,suf,mid}_token_id, and the older prefix/suffix/middle_token_id names alike.
  const has = (names: string[]) => names.every((n) => m[`tokenizer.ggml.${n}_token_id`] !== undefined);
  return {
    ...(typeof t === "string" ? { chatTemplate: t } : {}),
    fillInMiddle: has(["fim_pre", "fim_suf", "fim_mid"]) || has(["prefix", "suffix", "middle"]),
  };
}

/** `over`'s fields replace `base`'s; undefined when the result holds nothing. */
export function mergeModelfile(base?: ModelfileSettings, over?: ModelfileSettings): ModelfileSettings | undefined {
  const merged: ModelfileSettings = { ...base };
  for (const [k, v] of Object.entries(over ?? {})) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  return Object.keys(merged).length > 0 ? merged : undefined;
}

function isManifest(x: unknown): x is ModelManifest {
  const m = x as ModelManifest;
  return (
    Boolean(m) &&
    typeof m.name === "string" &&
    typeof m.tag === "string" &&
    typeof m.digest === "string" &&
    /^sha256:[0-9a-f]{64}$/.test(m.digest)
  );
}

function manifestFromHeader(
  name: string,
  tag: string,
  digest: string,
  sizeBytes: number,
  header: GgufHeader,
  source: ModelSource,
  modelfile?: ModelfileSettings,
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
    ...(modelfile && Object.keys(modelfile).length > 0 ? { modelfile } : {}),
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
export interface StagedFile {
  path: string;
  sha256: string;
  sizeBytes: number;
  header: GgufHeader;
  name: string;
  tag: string;
  source: ModelSource;
  /** Stored with the manifest (registry text layers, /api/create settings). */
  modelfile?: ModelfileSettings;
}

/** Builds the catalog over `<home>/models`; the ways a model comes in (pull, import, synth, quantize) go through it. */
export function createModelCatalog(options: ModelCatalogOptions): ModelCatalog {
  const root = join(resolvePath(options.home), "models");
  const blobsDir = join(root, "blobs");
  const manifestsDir = join(root, "manifests");
  const partialDir = join(root, "partial");
  const tmpDir = join(root, "tmp");
  const lockPath = join(root, ".lock");
  const defaultQuantization = options.defaultQuantization ?? CONFIG_DEFAULTS.models.default_quantization;
  const contextSize = options.contextSize ?? CONFIG_DEFAULTS.models.context_size;

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

  const declared = options.declared ?? [];
  const declaredOf = (name: string, tag?: string): ModelManifest[] =>
    declared.filter((m) => m.name === name && (tag === undefined || m.tag === tag));
  /**
   * A config-declared variant is changed where it is declared: a stored one of its name:tag would shadow it (the
   * store takes precedence) while `rm` refuses it, so a write over it is refused as its removal is.
   */
  const assertNotDeclared = (name: string, tag: string): void => {
    if (declaredOf(name, tag).length > 0)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `${name}:${tag} is declared in the configuration (remote.models, from REFLEXIA_REMOTE_MODELS or the config file); change it there`,
        { model: `${name}:${tag}` },
      );
  };

  async function readStoredManifest(name: string, tag: string): Promise<ModelManifest | undefined> {
    try {
      const m = JSON.parse(await readFile(manifestPath(name, tag), "utf8"));
      return isManifest(m) ? m : undefined;
    } catch {
      return undefined;
    }
  }

  async function readManifest(name: string, tag: string): Promise<ModelManifest | undefined> {
    return (await readStoredManifest(name, tag)) ?? declaredOf(name, tag)[0];
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
          const m = await readStoredManifest(name, tag);
          // The path is the identity: a manifest copied by hand under another name still lists where it lies.
          if (m) out.push({ ...m, name, tag });
        }
      }
    }
    await walk(manifestsDir);
    const stored = new Set(out.map((m) => `${m.name}:${m.tag}`));
    return [...out, ...declared.filter((m) => !stored.has(`${m.name}:${m.tag}`))];
  }

  function catalogStamp(name: string): string {
    try {
      const st = statSync(dirname(manifestPath(name, "x")), { bigint: true });
      return `${st.ino}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch {
      return "absent";
    }
  }

  /** The tags of the manifest files under `name` (one directory listing, no manifest read). */
  async function storedTags(name: string): Promise<string[]> {
    try {
      return (await readdir(join(manifestsDir, ...name.split("/")), { withFileTypes: true }))
        .filter((e) => e.isFile() && e.name.endsWith(".json") && !e.name.startsWith(TEMP_PREFIX))
        .map((e) => e.name.slice(0, -5));
    } catch {
      return [];
    }
  }

  /** `ref` as a lookup (lookupRef) among the tags stored or declared under its name. */
  async function lookup(ref: ModelRef): Promise<ModelRef> {
    if (ref.tag === undefined) return ref;
    return lookupRef(ref, [...(await storedTags(ref.name)), ...declaredOf(ref.name).map((m) => m.tag)]);
  }

  async function variants(name: string): Promise<ModelManifest[]> {
    assertModelName(name);
    const out: ModelManifest[] = [];
    for (const tag of await storedTags(name)) {
      const m = await readStoredManifest(name, tag);
      if (m) out.push({ ...m, name, tag });
    }
    for (const m of declaredOf(name)) if (!out.some((o) => o.tag === m.tag)) out.push(m);
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
      if (isOrphanTemp(f)) await rm(join(tmpDir, f), { force: true });
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
        for (const s of staged) if (await readManifest(s.name, s.tag)) throw modelExists(`${s.name}:${s.tag}`);
      }
      for (const s of staged) assertNotDeclared(s.name, s.tag);
      // Every way in reads its file with readModelHeader; this holds it for whatever is committed.
      for (const s of staged) {
        const problem = modelProblem(s.header);
        if (problem)
          throw new ReflexiaError("RFX_INVALID_GGUF", `the file of ${s.name}:${s.tag}: ${problem}`, {
            model: `${s.name}:${s.tag}`,
          });
      }
      const manifests: ModelManifest[] = [];
      for (const s of staged) {
        const target = blobPath(s.sha256);
        if (existsSync(target)) await rm(s.path, { force: true });
        else await rename(s.path, target);
        manifests.push(manifestFromHeader(s.name, s.tag, s.sha256, s.sizeBytes, s.header, s.source, s.modelfile));
      }
      await fsyncDir(blobsDir);
      for (const m of manifests) await writeFileAtomic(manifestPath(m.name, m.tag), JSON.stringify(m, null, 2) + "\n");
      // A forced overwrite may have orphaned the blob of the variant it replaced.
      if (force) await collectGarbage();
      return manifests;
    });
  }

  /** Validates and hashes a file already inside the store (tmp/ or partial/) so it can be committed by rename. */
  async function stageInPlace(
    path: string,
    name: string,
    tag: string | undefined,
    source: ModelSource,
  ): Promise<StagedFile> {
    const header = await readModelHeader(path);
    await fsyncFile(path);
    const hash = await feedHash(createHash("sha256"), path);
    const { size } = await stat(path);
    return {
      path,
      sha256: hash.digest("hex"),
      sizeBytes: size,
      header,
      name,
      tag: tag ?? tagFromFileType(header.fileType),
      source,
    };
  }

  /** Validates `src` as GGUF first (so a bad file never touches the store), then copies it into tmp/ while hashing. */
  async function stageCopy(
    src: string,
    name: string,
    tag: string | undefined,
    source: ModelSource,
    force: boolean,
    expectedSha256?: string,
  ): Promise<StagedFile> {
    const header = await readModelHeader(src);
    const finalTag = tag ?? tagFromFileType(header.fileType);
    assertTag(finalTag);
    if (!force && (await readManifest(name, finalTag))) throw modelExists(`${name}:${finalTag}`);
    await ensureDirs();
    const tmp = tempPath(tmpDir, ".gguf");
    try {
      const { sha256, sizeBytes } = await copyFileHashed(src, tmp);
      if (sizeBytes !== header.fileSizeBytes) {
        throw new ReflexiaError("RFX_INVALID_GGUF", `${src}: changed while it was being copied`, { path: src });
      }
      if (expectedSha256 && sha256 !== expectedSha256) {
        throw new ReflexiaError(
          "RFX_INVALID_GGUF",
          `${src}: sha256 ${sha256} does not match its name ${expectedSha256}`,
          { path: src },
        );
      }
      return { path: tmp, sha256, sizeBytes, header, name, tag: finalTag, source };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async function resolve(ref: string, options: { requireBlob?: boolean } = {}): Promise<ResolvedModel> {
    const asked = parseModelRef(ref);
    // The tag as stored: `name:latest` with no variant tagged latest is the untagged name, a quantization is taken
    // in any case (lookupRef).
    const parsed = await lookup(asked);
    let manifest = parsed.tag ? await readManifest(parsed.name, parsed.tag) : undefined;
    if (parsed.tag) {
      if (!manifest) {
        const tags = (await variants(parsed.name)).map((v) => v.tag);
        throw modelNotFound(
          formatModelRef(parsed),
          tags.length ? ` (available: ${tags.map((t) => `${parsed.name}:${t}`).join(", ")})` : "",
        );
      }
      manifest = { ...manifest, name: parsed.name, tag: parsed.tag };
    } else {
      const all = await variants(parsed.name);
      if (all.length === 0) throw modelNotFound(formatModelRef(asked));
      // The configured default first, then a conventional "latest", then the smallest file (cheapest to load).
      manifest =
        all.find((v) => v.tag === defaultQuantization) ??
        all.find((v) => v.quantization === defaultQuantization) ??
        all.find((v) => v.tag === "latest") ??
        [...all].sort((a, b) => a.sizeBytes - b.sizeBytes)[0];
    }
    if (isRemoteManifest(manifest))
      return {
        name: manifest.name,
        tag: manifest.tag,
        quantization: manifest.quantization,
        path: `remote://${manifest.name}:${manifest.tag}`,
        sizeBytes: 0,
        manifest,
        remote: manifest.remote,
      };
    const path = blobPath(manifest.digest);
    if (options.requireBlob !== false && !existsSync(path))
      throw modelNotFound(
        `${manifest.name}:${manifest.tag}`,
        ` (its blob ${manifest.digest} is missing; remove the variant and add the model again)`,
      );
    return {
      name: manifest.name,
      tag: manifest.tag,
      quantization: manifest.quantization,
      path,
      sizeBytes: manifest.sizeBytes,
      manifest,
    };
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

  async function show(ref: string, options: { metadata?: boolean } = {}): Promise<ModelDetails> {
    const r = await resolve(ref);
    if (r.remote) {
      const none = { weightsBytes: 0, repackBytes: 0, kvCacheBytes: 0, computeBytes: 0, totalBytes: 0 };
      return {
        ...r,
        gguf: {
          version: 0,
          architecture: "remote",
          parameterCount: 0,
          contextLength: 0,
          fileType: r.quantization,
          tensorCount: 0,
        },
        estimatedMemoryBytes: 0,
        estimatedMemory: none,
        contextSize,
        variants: (await variants(r.name)).map((v) => v.tag),
      };
    }
    const header = await readGgufHeader(r.path, options.metadata ? { maxArrayLength: Number.MAX_SAFE_INTEGER } : {});
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
        ...fileTypeIdOf(header),
        ...chatFactsOf(header.metadata),
        ...(options.metadata
          ? { metadata: Object.fromEntries(Object.entries(header.metadata).map(([k, v]) => [k, ggufValueToJson(v)])) }
          : {}),
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
    // A tag the user chose (a registry's or Ollama's tags are the publisher's, stored as published).
    if (opts.tag !== undefined) assertTagFitsFileType(opts.name, opts.tag, (await readModelHeader(abs)).fileType);
    const staged = await stageCopy(
      abs,
      opts.name,
      opts.tag,
      opts.source ?? { kind: "file", from: abs },
      Boolean(opts.force),
      opts.expectedSha256,
    );
    if (opts.modelfile) staged.modelfile = opts.modelfile;
    try {
      return (await commit([staged], Boolean(opts.force)))[0];
    } finally {
      await rm(staged.path, { force: true });
    }
  }

  async function addRemote(opts: AddRemoteOptions): Promise<ModelManifest> {
    const m = { ...remoteManifest(opts, { kind: "remote", from: opts.remote.endpoints.join(",") }) };
    m.createdAt = new Date().toISOString();
    assertNotDeclared(m.name, m.tag);
    return locked(async () => {
      if (!opts.force && (await readStoredManifest(m.name, m.tag))) throw modelExists(`${m.name}:${m.tag}`);
      await ensureDirs();
      await writeFileAtomic(manifestPath(m.name, m.tag), JSON.stringify(m, null, 2) + "\n");
      // A forced overwrite of a local variant may have orphaned its blob.
      if (opts.force) await collectGarbage();
      return m;
    });
  }

  async function remove(ref: string): Promise<ModelManifest[]> {
    // A quantization tag in any case, as resolve takes it (`name:latest` stays a real tag: all of a name goes only
    // when it is named without one).
    const asked = parseModelRef(ref);
    const parsed = asked.tag === "latest" ? asked : await lookup(asked);
    const lookupTargets = async () =>
      parsed.tag
        ? [await readStoredManifest(parsed.name, parsed.tag)].filter((m): m is ModelManifest => Boolean(m))
        : (await variants(parsed.name)).filter((m) => m.source.kind !== "config");
    if ((await lookupTargets()).length === 0)
      for (const m of declaredOf(parsed.name, parsed.tag)) assertNotDeclared(m.name, m.tag);
    // Unknown refs fail before the lock, so a typo never creates or touches anything.
    if ((await lookupTargets()).length === 0) throw modelNotFound(formatModelRef(parsed));
    return locked(async () => {
      const targets = await lookupTargets();
      if (targets.length === 0) throw modelNotFound(formatModelRef(parsed));
      // Manifests go first: after a crash at any point no manifest names a deleted blob.
      for (const m of targets) await rm(manifestPath(parsed.name, m.tag), { force: true });
      await fsyncDir(dirname(manifestPath(parsed.name, "x")));
      await removeEmptyNameDirs(parsed.name);
      await collectGarbage();
      return targets.map((m) => ({ ...m, name: parsed.name }));
    });
  }

  /** The variants a copy of `src` to `dst` writes (each source variant and its destination tag), checked. */
  async function planCopy(src: string, dst: string) {
    const from = parseModelRef(src);
    const to = parseModelRef(dst);
    const sources = from.tag || to.tag ? [(await resolve(src)).manifest] : await variants(from.name);
    if (sources.length === 0) throw modelNotFound(formatModelRef(from));
    const planned = sources.map((m) => ({ src: m, tag: to.tag ?? m.tag }));
    for (const p of planned) assertNotDeclared(to.name, p.tag);
    // A tag that is a quantization name says what the file is, as add and pull hold it (a remote variant's
    // quantization is its declared one).
    for (const p of planned)
      assertTagFitsFileType(
        to.name,
        p.tag,
        isRemoteManifest(p.src) ? p.src.quantization : p.src.fileType,
        (t) => `${to.name}:${t}`,
      );
    return { to, planned };
  }

  async function checkCopy(src: string, dst: string): Promise<void> {
    await planCopy(src, dst);
  }

  async function copy(src: string, dst: string, opts: CopyModelOptions = {}): Promise<ModelManifest[]> {
    const { to, planned } = await planCopy(src, dst);
    return locked(async () => {
      const created: ModelManifest[] = [];
      if (!opts.force)
        for (const p of planned) if (await readManifest(to.name, p.tag)) throw modelExists(`${to.name}:${p.tag}`);
      for (const p of planned) {
        // The blob must still be there: a concurrent remove could have collected it since resolve().
        if (!isRemoteManifest(p.src) && !existsSync(blobPath(p.src.digest)))
          throw modelNotFound(`${p.src.name}:${p.src.tag}`, " (its blob is missing)");
        const modelfile = mergeModelfile(p.src.modelfile, opts.modelfile);
        const { modelfile: _dropped, ...rest } = p.src;
        void _dropped;
        const m: ModelManifest = {
          ...rest,
          name: to.name,
          tag: p.tag,
          // Onto itself (a create that only changes settings) the variant keeps where it came from.
          source:
            opts.source ??
            (p.src.name === to.name && p.src.tag === p.tag
              ? p.src.source
              : { kind: "copy", from: `${p.src.name}:${p.src.tag}` }),
          createdAt: new Date().toISOString(),
          ...(modelfile ? { modelfile } : {}),
        };
        await writeFileAtomic(manifestPath(m.name, m.tag), JSON.stringify(m, null, 2) + "\n");
        created.push(m);
      }
      if (opts.force) await collectGarbage();
      return created;
    });
  }

  /** Runs `produce` into fresh temp files, stages each, commits them together, and always cleans the temp files. */
  async function produceAndCommit(jobs: ProduceJob[], name: string, force: boolean): Promise<ModelManifest[]> {
    await ensureDirs();
    const temps: string[] = [];
    try {
      const staged: StagedFile[] = [];
      for (const job of jobs) {
        const out = tempPath(tmpDir, ".gguf");
        temps.push(out);
        await job.produce(out);
        const file = await stageInPlace(out, name, job.tag, job.source);
        assertTagFitsFileType(name, file.tag, file.header.fileType);
        if (job.modelfile) file.modelfile = job.modelfile;
        staged.push(file);
      }
      return await commit(staged, force);
    } finally {
      for (const t of temps) await rm(t, { force: true });
    }
  }

  return {
    root,
    tmpDir,
    partialDir,
    contextSize,
    list,
    variants,
    catalogStamp,
    resolve,
    show,
    add,
    addRemote,
    remove,
    copy,
    checkCopy,
    readManifest,
    blobPath,
    ensureDirs,
    commit,
    stageCopy,
    produceAndCommit,
  };
}
