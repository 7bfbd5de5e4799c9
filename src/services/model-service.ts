// Model administration for the APIs: list, show, running variants, copy, delete (unloading first) and create.
import { normalizeQuantization, type Config, type Quantization } from "../config/index.ts";
import { readModelHeader } from "../gguf/index.ts";
import { isReflexiaError, ReflexiaError } from "../errors/index.ts";
import {
  assertDigest,
  assertTagFitsFileType,
  fileTypePrecision,
  parseModelRef,
  type AddRemoteOptions,
  type ModelDetails,
  type ModelListing,
  type ModelManifest,
  type BlobUploads,
  type HeldBlob,
  type ModelfileSettings,
  type ModelStore,
  configuredPullOptions,
  type RegistryPullOptions,
  type RegistryPullResult,
} from "../registry/index.ts";
import type { Scheduler, VariantStatus } from "../scheduler/index.ts";

export interface CreateModelRequest {
  /** New model reference (`name` or `name:tag`). */
  model: string;
  /** Existing model it is made from (or `files`). */
  from?: string;
  /** Ollama's `files`: file name → digest of an uploaded blob; exactly one GGUF (instead of `from`). */
  files?: Record<string, string>;
  /** System prompt, template, parameters, messages, license stored with the new model. */
  modelfile?: ModelfileSettings;
  /** Quantization of the new model (q4_0, q4_k_m, q5_k_m, q8_0, f16; case-insensitive, Ollama spelling accepted). */
  quantize?: string;
}

export interface ModelService {
  /** Blobs uploaded by digest (Ollama's /api/blobs) for create with `files`. */
  readonly uploads: BlobUploads;
  /** Pulls an Ollama-style name from the configured registry (registry.ollama_base_url, …huggingface_base_url). */
  pull(
    name: string,
    options?: Pick<RegistryPullOptions, "onProgress" | "signal" | "insecure">,
  ): Promise<RegistryPullResult>;
  list(): Promise<ModelListing[]>;
  /** With `metadata`, every GGUF header key (ModelCatalog.show). */
  show(ref: string, options?: { metadata?: boolean }): Promise<ModelDetails>;
  running(): VariantStatus[];
  /** Replaces the destination's variants of the same tags, as Ollama's copy does (a replaced loaded one is unloaded). */
  copy(source: string, destination: string): Promise<ModelManifest[]>;
  /**
   * Unloads the variants (waiting for in-flight requests), then removes them from the store: `name:tag` one, an
   * untagged name every variant, or with `oneVariant` only the one it resolves to (the variant show reports).
   */
  remove(ref: string, options?: { oneVariant?: boolean }): Promise<ModelManifest[]>;
  /**
   * Everything about a create request that can be known before it starts: the names parse, `from` exists, the
   * quantization is supported. Throws the 4xx a client should get before any byte. (An existing destination is
   * replaced, as Ollama's create replaces it.)
   */
  checkCreate(request: CreateModelRequest): Promise<void>;
  /** Declares a remote variant (replacing one with force, after unloading it). */
  addRemote(options: AddRemoteOptions): Promise<ModelManifest>;
  /** onStatus hears each step; while quantizing, also how far it got (`completed` of `total` variants, fractional). */
  create(
    request: CreateModelRequest,
    onStatus?: (status: string, progress?: { completed: number; total: number }) => void,
  ): Promise<ModelManifest[]>;
}

/**
 * `files` as Ollama sends them, checked: one GGUF blob the store holds, a model llama.cpp can load (its header read,
 * not its data); a destination tag that names a quantization is the new file's; a `quantize` is no more precise than
 * the file (llama.cpp cannot restore precision a file does not have).
 */
async function checkFilesOf(
  store: ModelStore,
  req: CreateModelRequest,
): Promise<{ digest: string; blob: HeldBlob; quantize?: { to: Quantization; fromFileType: string } }> {
  if (req.from !== undefined) throw new ReflexiaError("RFX_VALIDATION", 'send "from" or "files", not both');
  const q = req.quantize === undefined ? undefined : normalizeQuantization(req.quantize);
  const entries = Object.entries(req.files ?? {});
  if (entries.length !== 1)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `files must name exactly one GGUF blob (got ${entries.length}); safetensors directories and adapters are not supported`,
    );
  const [[file, digestRaw]] = entries;
  const digest = assertDigest(digestRaw);
  const blob = store.uploads.hold(digest);
  if (!blob)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `files.${file}: blob ${digest} is not on the server; upload it first with POST /api/blobs/${digest}`,
      { digest },
    );
  try {
    const to = parseModelRef(req.model);
    const { fileType } = await readModelHeader(blob.path).catch((e: unknown) => {
      // The blob's path is the store's: name the request's file and digest instead.
      if (isReflexiaError(e) && e.code === "RFX_INVALID_GGUF")
        throw new ReflexiaError("RFX_INVALID_GGUF", e.message.replace(blob.path, `files.${file} (${digest})`), {
          digest,
        });
      throw e;
    });
    assertTagFitsFileType(to.name, to.tag ?? "latest", q ?? fileType, (t) => `${to.name}:${t}`);
    if (!q) return { digest, blob };
    if (fileTypePrecision(q) > fileTypePrecision(fileType))
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `files.${file}: the uploaded GGUF is ${fileType}, less precise than quantize ${q}; upload a more precise file (f16, f32)`,
        { quantize: req.quantize },
      );
    return { digest, blob, quantize: fileType === q ? undefined : { to: q, fromFileType: fileType } };
  } catch (e) {
    await blob.done(false);
    throw e;
  }
}

type PullListener = NonNullable<RegistryPullOptions["onProgress"]>;

const pullCancelled = (name: string): ReflexiaError => new ReflexiaError("RFX_CANCELLED", `pull of ${name} cancelled`);

export function createModelService(deps: {
  store: ModelStore;
  scheduler: Scheduler;
  registry: Config["registry"];
  /** Hears the variants a remove deleted and which quantizations of that name no variant holds any more. */
  onRemoved?: (name: string, goneQuantizations: string[]) => void;
}): ModelService {
  const { store, scheduler, registry } = deps;
  /**
   * Pulls in progress by name: a second pull of the same name joins the first, as Ollama's do, hearing its progress
   * from then on; the download stops only when every puller has gone (each one's cancellation is its own).
   */
  const pulls = new Map<
    string,
    { result: Promise<RegistryPullResult>; listeners: Set<PullListener>; stop: AbortController }
  >();
  const joinPull = (
    name: string,
    options: Pick<RegistryPullOptions, "onProgress" | "signal" | "insecure">,
  ): Promise<RegistryPullResult> => {
    if (options.signal?.aborted) return Promise.reject(pullCancelled(name));
    const key = JSON.stringify([name, options.insecure === true]);
    let pull = pulls.get(key);
    const listener: PullListener = (p) => options.onProgress?.(p);
    if (!pull) {
      // The first puller hears from the first status on ("pulling manifest" is reported before any await).
      const listeners = new Set<PullListener>([listener]);
      const stop = new AbortController();
      const result = store.pullFromRegistry(name, {
        ...configuredPullOptions(registry),
        insecure: options.insecure,
        signal: stop.signal,
        onProgress: (p) => {
          for (const l of listeners) l(p);
        },
      });
      const entry = { result, listeners, stop };
      pulls.set(key, entry);
      const forget = () => {
        if (pulls.get(key) === entry) pulls.delete(key);
      };
      result.then(forget, forget);
      pull = entry;
    }
    const joined = pull;
    joined.listeners.add(listener);
    return new Promise<RegistryPullResult>((resolve, reject) => {
      const leave = () => {
        joined.listeners.delete(listener);
        options.signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        leave();
        if (joined.listeners.size === 0) joined.stop.abort();
        reject(pullCancelled(name));
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      joined.result.then(
        (r) => {
          leave();
          resolve(r);
        },
        (e: unknown) => {
          leave();
          reject(e);
        },
      );
    });
  };
  const checkFiles = (req: CreateModelRequest) => checkFilesOf(store, req);
  /**
   * Runs a create or copy that replaces whatever `name` holds under the tags it writes (as Ollama's do), then
   * unloads each loaded variant whose weights it replaced (the scheduler would also notice on the next request).
   */
  const replacing = async (name: string, write: () => Promise<ModelManifest[]>): Promise<ModelManifest[]> => {
    const before = new Map((await store.variants(name)).map((m) => [m.tag, m.digest]));
    const written = await write();
    for (const m of written) {
      const old = before.get(m.tag);
      if (old !== undefined && old !== m.digest) await scheduler.unload(`${name}:${m.tag}`);
    }
    return written;
  };
  return {
    uploads: store.uploads,
    pull: (name, options = {}) => joinPull(name, options),
    list: () => store.list(),
    show: (ref, options) => store.show(ref, options),
    running: () => scheduler.status().variants,
    copy: (source, destination) =>
      replacing(parseModelRef(destination).name, () => store.copy(source, destination, { force: true })),
    async remove(ref, options = {}) {
      const parsed = parseModelRef(ref);
      const one = parsed.tag || options.oneVariant;
      // A variant whose blob went missing can still be removed (resolving it for a run would refuse it).
      const targets = one
        ? [(await store.resolve(ref, { requireBlob: false })).manifest]
        : await store.variants(parsed.name);
      if (targets.length === 0) await store.resolve(ref); // RFX_MODEL_NOT_FOUND with the store's wording
      for (const m of targets) await scheduler.unload(`${parsed.name}:${m.tag}`);
      const removed = await store.remove(one ? `${parsed.name}:${targets[0].tag}` : ref);
      const left = new Set((await store.variants(parsed.name)).map((v) => v.quantization));
      const gone = [...new Set(removed.map((m) => m.quantization))].filter((q) => !left.has(q));
      if (gone.length > 0) deps.onRemoved?.(parsed.name, gone);
      return removed;
    },
    async addRemote(opts) {
      const m = await store.addRemote(opts);
      // A replaced variant must not keep serving from its old endpoints.
      if (opts.force) await scheduler.unload(`${m.name}:${m.tag}`);
      return m;
    },
    async checkCreate(req) {
      if (req.files !== undefined) {
        await (await checkFiles(req)).blob.done(false);
        return;
      }
      if (req.from === undefined)
        throw new ReflexiaError("RFX_VALIDATION", 'create needs "from" (a model) or "files" (an uploaded GGUF blob)');
      parseModelRef(req.from);
      const to = parseModelRef(req.model);
      if (!req.quantize) return store.checkCopy(req.from, req.model); // the copy createModel makes
      const q = normalizeQuantization(req.quantize);
      await store.resolve(req.from); // RFX_MODEL_NOT_FOUND with the store's wording
      // The new file is q (quantizeInto holds the same before it quantizes).
      assertTagFitsFileType(to.name, to.tag ?? q, q, (t) => `${to.name}:${t}`);
    },
    create: (req, onStatus) => replacing(parseModelRef(req.model).name, () => createModel(req, onStatus)),
  };

  /** The new variants of a create request; each replaces what its name:tag held. */
  async function createModel(
    req: CreateModelRequest,
    onStatus?: (status: string, progress?: { completed: number; total: number }) => void,
  ): Promise<ModelManifest[]> {
    const to = parseModelRef(req.model);
    if (req.files !== undefined) {
      const { digest, blob, quantize } = await checkFiles(req);
      let made = false;
      try {
        onStatus?.(`using blob ${digest}`);
        const source = { kind: "create" as const, from: digest };
        const status = quantize && `quantizing ${quantize.fromFileType} model to ${quantize.to}`;
        const m = quantize
          ? await store.quantizeInto({ file: blob.path }, quantize.to, req.model, {
              source,
              modelfile: req.modelfile,
              force: true,
              onProgress: (done, total) => onStatus?.(status!, { completed: done / total, total: 1 }),
            })
          : await store.add(blob.path, {
              name: to.name,
              tag: to.tag ?? "latest",
              source,
              modelfile: req.modelfile,
              expectedSha256: digest.slice("sha256:".length),
              force: true,
            });
        made = true;
        onStatus?.(`writing manifest ${m.name}:${m.tag}`);
        return [m];
      } finally {
        // A used upload goes (its bytes are the model's blob now, or were quantized); a failed create keeps it.
        await blob.done(made);
      }
    }
    const fromRef = req.from!;
    const settings = { modelfile: req.modelfile, force: true };
    if (!req.quantize) {
      // What the copy would refuse is refused before its first status (a stream opens at the first one).
      await store.checkCopy(fromRef, req.model);
      onStatus?.(`copying ${fromRef}`);
      return store.copy(fromRef, req.model, settings);
    }
    // The new model's own variant, quantized from FROM's (the source gains none, as in Ollama).
    const q = normalizeQuantization(req.quantize);
    const status = `quantizing ${fromRef} to ${q}`;
    const m = await store.quantizeInto({ model: fromRef }, q, req.model, {
      modelfile: req.modelfile,
      force: true,
      onProgress: (done, total) => onStatus?.(status, { completed: done / total, total: 1 }),
    });
    onStatus?.(`writing manifest ${m.name}:${m.tag}`);
    return [m];
  }
}
