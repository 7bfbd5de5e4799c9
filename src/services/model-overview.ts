// The models as an operator sees them: every stored variant with its size, memory estimate and whether (and
// until when) it is loaded, and one variant's details (architecture, context, chat template, hyperparameters).
import { readGgufHeader } from "../gguf/index.ts";
import type { ModelDetails, ModelManifest } from "../registry/index.ts";
import { variantKey, type Scheduler } from "../scheduler/index.ts";
import type { ModelService } from "./model-service.ts";

export interface VariantOverview {
  manifest: ModelManifest;
  /** Resident memory estimated to run it with the configured context (weights, repacks, KV cache, buffers). */
  estimatedMemoryBytes: number;
  /** Loaded for generation now. */
  loaded: boolean;
  loading: boolean;
  /** When the loaded variant unloads if it stays idle; null while busy, kept forever or not loaded. */
  expiresAt: string | null;
  running: number;
  queued: number;
}

export interface ModelOverview {
  name: string;
  totalBytes: number;
  variants: VariantOverview[];
}

export interface VariantDetails {
  details: ModelDetails;
  /** The GGUF's `tokenizer.chat_template` (Jinja), null when the file has none. */
  chatTemplate: string | null;
}

export interface ModelOverviewService {
  list(): Promise<ModelOverview[]>;
  details(ref: string): Promise<VariantDetails>;
}

export function createModelOverview(deps: {
  models: ModelService;
  scheduler: Pick<Scheduler, "status">;
}): ModelOverviewService {
  const { models, scheduler } = deps;
  // show() reads the GGUF header; blobs are content-addressed, so a digest's answers never change.
  const byDigest = new Map<string, Promise<VariantDetails>>();
  const details = (ref: string, digest?: string): Promise<VariantDetails> => {
    const cached = digest ? byDigest.get(digest) : undefined;
    if (cached) return cached;
    const p = (async () => {
      const d = await models.show(ref);
      if (d.remote) return { details: d, chatTemplate: null };
      const header = await readGgufHeader(d.path, { maxArrayLength: 0 });
      const t = header.metadata["tokenizer.chat_template"];
      return { details: d, chatTemplate: typeof t === "string" ? t : null };
    })();
    if (digest) {
      byDigest.set(digest, p);
      p.catch(() => byDigest.delete(digest));
    }
    return p;
  };
  return {
    async list() {
      const status = scheduler.status();
      const loaded = new Map(status.variants.filter((v) => !v.embedding).map((v) => [v.key, v]));
      const loading = new Set(status.loading);
      const listing = await models.list();
      return Promise.all(
        listing.map(async (m) => ({
          name: m.name,
          totalBytes: m.totalBytes,
          variants: await Promise.all(
            m.variants.map(async (v): Promise<VariantOverview> => {
              const key = variantKey({ name: m.name, tag: v.tag });
              const d = await details(key, v.digest);
              const l = loaded.get(key);
              return {
                manifest: v,
                estimatedMemoryBytes: d.details.estimatedMemoryBytes,
                loaded: l !== undefined,
                loading: loading.has(key),
                expiresAt: l?.expiresAt ?? null,
                running: l?.running ?? 0,
                queued: l?.queued ?? 0,
              };
            }),
          ),
        })),
      );
    },
    async details(ref) {
      const d = await details(ref);
      byDigest.set(d.details.manifest.digest, Promise.resolve(d));
      return d;
    },
  };
}
