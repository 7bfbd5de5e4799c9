// Model administration for the APIs: list, show, running variants, copy, delete (unloading first) and create.
import { QUANTIZATIONS, type Quantization } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import {
  parseModelRef,
  type AddRemoteOptions,
  type ModelDetails,
  type ModelListing,
  type ModelManifest,
  type ModelStore,
} from "../registry/index.ts";
import type { Scheduler, VariantStatus } from "../scheduler/index.ts";

export interface CreateModelRequest {
  /** New model reference (`name` or `name:tag`). */
  model: string;
  /** Existing model it is made from. */
  from: string;
  /** Quantization of the new model (q4_0, q4_k_m, q5_k_m, q8_0, f16; case-insensitive, Ollama spelling accepted). */
  quantize?: string;
}

export interface ModelService {
  list(): Promise<ModelListing[]>;
  show(ref: string): Promise<ModelDetails>;
  running(): VariantStatus[];
  copy(source: string, destination: string): Promise<ModelManifest[]>;
  /** Unloads the variants (waiting for in-flight requests), then removes them from the store. */
  remove(ref: string): Promise<ModelManifest[]>;
  /**
   * Everything about a create request that can be known before it starts: the names parse, `from` exists, the
   * quantization is supported, the destination is free. Throws the 4xx a client should get before any byte.
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

export function normalizeQuantization(q: string): Quantization {
  const n = q.trim().toLowerCase();
  if (!(QUANTIZATIONS as readonly string[]).includes(n)) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `unsupported quantize ${JSON.stringify(q)} (supported: ${QUANTIZATIONS.join(", ")})`,
      { quantize: q },
    );
  }
  return n as Quantization;
}

export function createModelService(deps: { store: ModelStore; scheduler: Scheduler }): ModelService {
  const { store, scheduler } = deps;
  return {
    list: () => store.list(),
    show: (ref) => store.show(ref),
    running: () => scheduler.status().variants,
    copy: (source, destination) => store.copy(source, destination),
    async remove(ref) {
      const parsed = parseModelRef(ref);
      const targets = parsed.tag ? [(await store.resolve(ref)).manifest] : await store.variants(parsed.name);
      if (targets.length === 0) await store.resolve(ref); // RFX_MODEL_NOT_FOUND with the store's wording
      for (const m of targets) await scheduler.unload(`${parsed.name}:${m.tag}`);
      return store.remove(ref);
    },
    async addRemote(opts) {
      const m = await store.addRemote(opts);
      // A replaced variant must not keep serving from its old endpoints.
      if (opts.force) await scheduler.unload(`${m.name}:${m.tag}`);
      return m;
    },
    async checkCreate(req) {
      const from = parseModelRef(req.from);
      const to = parseModelRef(req.model);
      const q = req.quantize ? normalizeQuantization(req.quantize) : undefined;
      const sources =
        from.tag || to.tag || q ? [(await store.resolve(req.from)).manifest] : await store.variants(from.name);
      if (sources.length === 0) await store.resolve(req.from); // RFX_MODEL_NOT_FOUND with the store's wording
      // The tags create() will write under `to.name` (a quantize that lands on the source itself writes nothing).
      const tags = q
        ? to.name === from.name && (to.tag ?? q) === q
          ? []
          : [to.tag ?? q]
        : sources.map((m) => to.tag ?? m.tag);
      const taken = new Set((await store.variants(to.name)).map((m) => m.tag));
      const clash = tags.find((t) => taken.has(t));
      if (clash)
        throw new ReflexiaError("RFX_MODEL_EXISTS", `model ${to.name}:${clash} already exists (delete it first)`, {
          model: `${to.name}:${clash}`,
        });
    },
    async create(req, onStatus) {
      const from = parseModelRef(req.from);
      const to = parseModelRef(req.model);
      if (!req.quantize) {
        onStatus?.(`copying ${req.from}`);
        return store.copy(req.from, req.model);
      }
      const q = normalizeQuantization(req.quantize);
      const have = await store.variants(from.name);
      if (have.length === 0) await store.resolve(req.from);
      if (!have.some((v) => v.tag === q)) {
        const status = `quantizing ${req.from} to ${q}`;
        onStatus?.(status, { completed: 0, total: 1 });
        const r = await store.quantize(req.from, [q], {
          onProgress: (p) => onStatus?.(status, { completed: p.done, total: p.total }),
        });
        if (r.created.length === 0) {
          throw new ReflexiaError(
            "RFX_VALIDATION",
            r.skipped.map((s) => s.reason).join("; ") || `cannot quantize ${req.from} to ${q}`,
          );
        }
      }
      onStatus?.(`writing manifest ${to.name}:${to.tag ?? q}`);
      if (to.name === from.name && (to.tag ?? q) === q) return [(await store.resolve(`${from.name}:${q}`)).manifest];
      return store.copy(`${from.name}:${q}`, to.tag ? req.model : `${to.name}:${q}`);
    },
  };
}
