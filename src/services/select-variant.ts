// Variant selection for a request: complexity analysis + the quantization policy over the model's stored
// variants, the memory budget and what is loaded, with per-model hysteresis state and decision/switch metrics.
import { QUANTIZATIONS, type Config, type Quantization } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import type { MemoryMonitor, MemorySample } from "../memory/index.ts";
import type { ReflexiaMetrics } from "../metrics/index.ts";
import { analyzeComplexity, chooseVariant, type ChooseVariantInput, type ComplexityLevel } from "../policy/index.ts";
import { lookupRef } from "../registry/parse-model-ref.ts";
import { readModelQuality } from "../registry/variant-quality.ts";
import { parseModelRef, type ModelManifest, type ModelStore, type ResolvedModel } from "../registry/index.ts";
import type { Scheduler } from "../scheduler/index.ts";
import type { GpuPlacer } from "./gpu-placement.ts";

export interface SelectableVariant extends ResolvedModel {
  /** Resident memory the variant needs at the configured context, when known. */
  estimatedBytes?: number;
}

export interface VariantSelection {
  variant: SelectableVariant;
  /** The policy's reason label (pinned, adaptive_disabled, complexity_high, prefer_loaded, memory_pressure_downgrade…). */
  reason: string;
  /** Human-readable explanation of the choice. */
  detail: string;
  pinned: boolean;
  complexity: { level: ComplexityLevel; score: number } | null;
  /** Used memory / budget at decision time; null without a memory monitor. */
  pressure: number | null;
}

export interface SelectionInput {
  messages?: readonly { role: string; content: string }[];
  prompt?: string;
}

export interface VariantSelector {
  /** Chooses the variant; throws RFX_MODEL_NOT_FOUND or RFX_MEMORY_BUDGET (with the policy's explanation). */
  select(ref: string, input: SelectionInput): Promise<VariantSelection>;
  /** Notes the selection that served a request: decision and switch metrics, hysteresis state. */
  record(selection: VariantSelection): void;
}

export interface VariantSelectorOptions {
  config: Config;
  /** With catalogStamp, a model's variants are read once and reused while its stamp is unchanged. */
  store: Pick<ModelStore, "resolve" | "variants"> & Partial<Pick<ModelStore, "catalogStamp">>;
  scheduler: Pick<Scheduler, "status">;
  /** Resolves a variant with its memory estimate (cached by the caller); defaults to store.resolve. */
  resolveVariant?: (ref: string) => Promise<SelectableVariant>;
  memory?: MemoryMonitor | null;
  metrics?: ReflexiaMetrics;
  /** With a GPU: how many layers each variant would get, so the choice prefers one that runs whole on it. */
  gpu?: GpuPlacer;
  /**
   * False for a remote variant none of whose endpoints may be tried now (all ejected after failures): an untagged
   * request then chooses among the model's other variants instead of failing with 503. Defaults to always true.
   */
  remoteAvailable?: (variant: SelectableVariant) => boolean;
}

const isQuantization = (t: string): t is Quantization => (QUANTIZATIONS as readonly string[]).includes(t);

/**
 * When a model has local and remote variants, where the chosen one runs: the policy weighs a remote variant as one
 * that needs no local memory, so the detail says which side won and on how many endpoints.
 */
function whereItRuns(chosen: SelectableVariant, all: readonly SelectableVariant[], pinned: boolean): string {
  const remote = all.some((v) => v.remote);
  const local = all.some((v) => !v.remote);
  if (!remote || !local || pinned)
    return chosen.remote ? ` (remote: ${chosen.remote.endpoints.length} endpoint(s))` : "";
  return chosen.remote
    ? `; ${chosen.tag} is remote (${chosen.remote.endpoints.length} endpoint(s), no local memory), chosen over the local variants`
    : `; ${chosen.tag} runs locally, chosen over the remote variants`;
}

/** Inputs remembered by the complexity memo, and the longest input it keys (longer ones are analysed each time). */
const COMPLEXITY_MEMO_ENTRIES = 512;
const COMPLEXITY_MEMO_MAX_CHARS = 16_384;
const QUALITY_REFRESH_MS = 2000;

export function createVariantSelector(options: VariantSelectorOptions): VariantSelector {
  const { config, store, scheduler, memory, metrics, gpu } = options;
  const resolveVariant: (ref: string) => Promise<SelectableVariant> =
    options.resolveVariant ?? ((ref: string) => store.resolve(ref));
  // Per model: the last served quantization and its level, for hysteresis and switch counting.
  const previous = new Map<string, { quantization: string; level?: ComplexityLevel }>();
  // Per model: its manifests and resolved policy variants, valid while the store's catalog stamp is unchanged, so
  // a request reads no file (a cache hit then costs no I/O at all).
  const catalogs = new Map<
    string,
    { stamp: string; manifests: ModelManifest[]; variants: SelectableVariant[]; all: SelectableVariant[] }
  >();
  // The analysis is a pure function of the text (≈ 0.1-0.2 ms of regexes for a short prompt): a repeated request,
  // the case the response cache serves, reuses it.
  const complexityMemo = new Map<string, ReturnType<typeof analyzeComplexity>>();
  const complexityOf = (input: SelectionInput) => {
    let key: string | undefined = JSON.stringify([
      input.prompt ?? null,
      input.messages?.map((m) => [m.role, m.content]) ?? null,
    ]);
    if (key.length > COMPLEXITY_MEMO_MAX_CHARS) key = undefined;
    const memo = key === undefined ? undefined : complexityMemo.get(key);
    if (memo) return memo;
    const result = analyzeComplexity(
      { messages: input.messages, prompt: input.prompt },
      { thresholds: config.adaptive.thresholds },
    );
    if (key !== undefined) {
      if (complexityMemo.size >= COMPLEXITY_MEMO_ENTRIES) complexityMemo.delete(complexityMemo.keys().next().value!);
      complexityMemo.set(key, result);
    }
    return result;
  };

  async function catalogOf(
    name: string,
  ): Promise<{ manifests: ModelManifest[]; variants: SelectableVariant[]; all: SelectableVariant[] }> {
    const stamp = store.catalogStamp?.(name);
    const cached = catalogs.get(name);
    if (cached && stamp !== undefined && cached.stamp === stamp) return cached;
    // Read after the stamp: the data is at least as new as the stamp it is filed under.
    const manifests = await store.variants(name);
    // Every tag, so a pinned one (":latest", a remote ":remote") costs no store read per request either.
    // A pinned tag that does not resolve is left out here and fails by name when asked for.
    const all = (
      await Promise.all(
        manifests.map((m) =>
          isQuantization(m.tag)
            ? resolveVariant(`${m.name}:${m.tag}`)
            : resolveVariant(`${m.name}:${m.tag}`).catch(() => undefined),
        ),
      )
    ).filter((v): v is SelectableVariant => v !== undefined);
    const variants = all.filter((v) => isQuantization(v.tag));
    const fresh = { stamp: stamp ?? "", manifests, variants, all };
    if (stamp !== undefined) catalogs.set(name, fresh);
    return fresh;
  }

  // Per model: measured quality (the quality benchmark's file beside the store), re-read at most every
  // QUALITY_REFRESH_MS so a request costs no file read while a new quality run still shows up within seconds.
  const qualities = new Map<string, { at: number; stamp: string; quality: ChooseVariantInput["quality"] }>();
  async function qualityOf(name: string, stamp: string, variants: SelectableVariant[]) {
    const cached = qualities.get(name);
    if (cached && cached.stamp === stamp && Date.now() - cached.at < QUALITY_REFRESH_MS) return cached.quality;
    const digests = Object.fromEntries(variants.map((v) => [v.tag, v.manifest.digest]));
    const measured = await readModelQuality(config.home, name, digests).catch(() => ({}));
    const quality = Object.fromEntries(
      Object.entries(measured).map(([tag, q]) => [
        tag,
        { top1Agreement: q.top1Agreement, reference: q.referenceQuantization },
      ]),
    );
    qualities.set(name, { at: Date.now(), stamp, quality });
    return quality;
  }

  return {
    async select(ref, input) {
      const asked = parseModelRef(ref);
      const { manifests, variants, all } = await catalogOf(asked.name);
      // `name:latest` with no variant tagged latest is the untagged name: the adaptive choice; `Q4_0` the stored
      // `q4_0` (lookupRef).
      const parsed = lookupRef(
        asked,
        manifests.map((m) => m.tag),
      );
      if (manifests.length === 0) await resolveVariant(ref); // RFX_MODEL_NOT_FOUND in the store's words
      const pressureNow = memory ? memory.latest().pressure : null;

      // A tag outside the quantization names (e.g. "latest", "v2") is pinned as is: only the budget applies.
      if (parsed.tag && !isQuantization(parsed.tag)) {
        const variant = all.find((v) => v.tag === parsed.tag) ?? (await resolveVariant(ref));
        return {
          variant,
          reason: "pinned",
          detail: `pinned ${ref}`,
          pinned: true,
          complexity: null,
          pressure: pressureNow,
        };
      }
      const policyTagged = manifests.filter((m) => isQuantization(m.tag));
      if (policyTagged.length === 0) {
        const variant = await resolveVariant(ref);
        return {
          variant,
          reason: "default",
          detail: `${variant.tag} is the model's default variant`,
          pinned: false,
          complexity: null,
          pressure: pressureNow,
        };
      }

      // A remote variant whose endpoints are all ejected would answer 503: the choice is made among the others
      // (when any is left), and the detail says which was left out and why.
      const down =
        parsed.tag === undefined && options.remoteAvailable
          ? variants.filter((v) => v.remote && !options.remoteAvailable!(v))
          : [];
      const usable =
        down.length > 0 && down.length < variants.length ? variants.filter((v) => !down.includes(v)) : variants;
      const downNote =
        usable === variants
          ? ""
          : `; ${down.map((v) => `${v.name}:${v.tag}`).join(", ")} left out: every endpoint is ejected after failures`;
      const byQuant = new Map(usable.map((v) => [v.tag as Quantization, v]));
      const complexity = complexityOf(input);
      const status = scheduler.status();
      const loaded = status.variants
        .filter((v) => !v.embedding && v.name === parsed.name && isQuantization(v.tag))
        .map((v) => v.tag as Quantization);
      // Idle variants of any model can be evicted to make room; busy ones hold theirs until they finish, and then
      // the scheduler evicts them for a load that needs it (it waits for them rather than refusing).
      const idle = (v: (typeof status.variants)[number]): boolean => v.running === 0 && v.queued === 0;
      const evictableBytes = status.variants.filter(idle).reduce((a, v) => a + v.estimatedBytes, 0);
      const busyBytes = status.variants.filter((v) => !idle(v)).reduce((a, v) => a + v.estimatedBytes, 0);
      const prev = previous.get(parsed.name);
      // VRAM held by idle variants counts as free here, as their RAM does: the scheduler evicts them for a load.
      const placeOnGpu = (): Partial<Record<Quantization, { gpuLayers: number; totalLayers: number }>> | undefined => {
        if (!gpu?.active) return undefined;
        const idleVram = status.variants.filter(idle).reduce((a, v) => a + v.vramBytes, 0);
        const available = gpu.availableVramBytes(status.estimatedLoadedVramBytes) + idleVram;
        const gpuLayers: Partial<Record<Quantization, { gpuLayers: number; totalLayers: number }>> = {};
        for (const v of variants) {
          const loadedV = status.variants.find((s) => !s.embedding && s.name === v.name && s.tag === v.tag);
          const plan = loadedV
            ? { gpuLayers: loadedV.gpuLayers, totalLayers: loadedV.totalLayers ?? loadedV.gpuLayers }
            : gpu.place(v, { contextSize: config.models.context_size, parallel: status.parallel }, available);
          // A GPU_LAYERS=max / N plan that does not fit would be refused: it counts as no layer on the GPU.
          if (plan)
            gpuLayers[v.tag as Quantization] = {
              gpuLayers: "fits" in plan && !plan.fits ? 0 : plan.gpuLayers,
              totalLayers: plan.totalLayers,
            };
        }
        return gpuLayers;
      };
      const quality = config.adaptive.enabled
        ? await qualityOf(parsed.name, store.catalogStamp?.(parsed.name) ?? "", variants)
        : undefined;
      const decide = (sample: MemorySample | undefined, gpuLayers: ReturnType<typeof placeOnGpu>) =>
        chooseVariant({
          complexity: { score: complexity.score, level: complexity.level },
          pressure: sample ? sample.pressure : 0,
          available: [...byQuant.keys()],
          loaded,
          previous: prev && isQuantization(prev.quantization) ? prev.quantization : undefined,
          previousLevel: prev?.level,
          estimateBytes: Object.fromEntries(
            variants.map((v) => [v.tag, v.estimatedBytes ?? Math.round(v.sizeBytes * 1.3)]),
          ),
          freeBudgetBytes: sample ? sample.freeBudgetBytes : Number.MAX_SAFE_INTEGER,
          evictableBytes,
          busyBytes,
          hysteresis: config.adaptive.hysteresis,
          thresholds: config.adaptive.thresholds,
          adaptive: config.adaptive.enabled,
          defaultQuantization: config.models.default_quantization,
          pinned: parsed.tag as Quantization | undefined,
          gpuLayers,
          quality,
          qualityFloor: config.adaptive.quality_floor,
        });
      // The last periodic sample first and no GPU placement: when a loaded variant is chosen regardless of memory
      // (the usual case once warm) neither could change the choice; otherwise it is made again on a fresh sample
      // and the VRAM placement.
      let sample = memory?.latest();
      let decision = decide(sample, undefined);
      if (decision.dependsOnMemory && (memory || gpu?.active)) {
        sample = memory?.sample();
        decision = decide(sample, placeOnGpu());
      }
      if (decision.action === "refuse") {
        metrics?.policy.decisions.inc({ quantization: decision.quantization, reason: decision.reason });
        if (decision.refuseCode === "RFX_MODEL_NOT_FOUND")
          await resolveVariant(`${parsed.name}:${decision.quantization}`);
        throw new ReflexiaError(
          decision.refuseCode ?? "RFX_MEMORY_BUDGET",
          `${parsed.name}:${decision.quantization} refused: ${decision.detail}`,
          {
            variant: `${parsed.name}:${decision.quantization}`,
            reason: decision.reason,
            complexity: { level: complexity.level, score: complexity.score },
            memoryPressure: sample?.pressure ?? null,
          },
        );
      }
      const chosen = byQuant.get(decision.quantization)!;
      return {
        variant: chosen,
        reason: decision.reason,
        detail:
          // The policy saw only the usable variants: "the only stored variant" is not so when a remote one is down.
          (downNote
            ? decision.detail.replace(
                `${decision.quantization} is the only stored variant`,
                `${decision.quantization} is the only variant that can serve now`,
              )
            : decision.detail) +
          whereItRuns(chosen, usable, parsed.tag !== undefined) +
          downNote,
        pinned: parsed.tag !== undefined,
        complexity: { level: decision.level, score: complexity.score },
        pressure: sample ? sample.pressure : pressureNow,
      };
    },
    record(selection) {
      const name = selection.variant.name;
      const q = selection.variant.quantization;
      metrics?.policy.decisions.inc({ quantization: q, reason: selection.reason });
      // Pinned requests neither count as switches nor steer the adaptive choice of later untagged ones.
      if (selection.pinned) return;
      const prev = previous.get(name);
      if (prev && prev.quantization !== q)
        metrics?.policy.switches.inc({ from: prev.quantization, to: q, reason: selection.reason });
      previous.set(name, { quantization: q, level: selection.complexity?.level });
    },
  };
}
