// The scheduler's public shapes: resolved variants, leases, memory and metrics seams, and status snapshots.
import type { Engine, LoadedModel } from "../engine/types.ts";
import type { RemoteSpec } from "../upstream/index.ts";

/** A variant the scheduler can load; the registry's ResolvedModel satisfies it. */
export interface SchedulableVariant {
  name: string;
  tag: string;
  quantization: string;
  /** Absolute path of the GGUF file (`remote://name:tag` for a remote variant). */
  path: string;
  sizeBytes: number;
  /** Present on remote variants: loaded through SchedulerOptions.remote, outside the memory budget. */
  remote?: RemoteSpec;
  /** Identity of the variant's content (manifest digest); a remote variant's pool is kept per digest. */
  manifest?: { digest: string };
}

/** Loads remote variants (src/upstream): the scheduler queues and admits them as local ones, holding no memory. */
export interface SchedulerRemoteLoader {
  /** Requests the variant runs at once (its endpoints × per-endpoint cap), in place of the scheduler's parallel. */
  parallelOf(spec: RemoteSpec): number;
  load(variant: { name: string; tag: string; quantization: string; digest: string; remote: RemoteSpec }): LoadedModel;
}

/**
 * Budget hook: lets the scheduler refuse or make room for a load before it happens. Implemented over the memory
 * monitor in main.ts; tests pass plain numbers.
 */
export interface SchedulerMemoryHook {
  /** Resident bytes the variant will need once loaded with this context (weights + KV cache + buffers). */
  estimateBytes(
    variant: SchedulableVariant,
    load: { contextSize: number; parallel: number; embedding: boolean },
  ): number;
  /** The memory budget in bytes (MAX_MEMORY_PERCENT of the effective limit). */
  budgetBytes(): number;
  /** Bytes counted against the budget right now (process RSS or the cgroup working set). */
  usedBytes(): number;
  /**
   * With a GPU: where a load would put the variant's layers when it may take `availableVramBytes` of VRAM (GPU_LAYERS
   * applied), with the RAM the CPU side then needs. Absent on the CPU, undefined for a variant it cannot place
   * (estimateBytes is then all there is).
   */
  placeOnGpu?(
    variant: SchedulableVariant,
    load: { contextSize: number; parallel: number; embedding: boolean },
    availableVramBytes: number,
  ): GpuPlan | undefined;
  /**
   * VRAM a new load may take now, nothing evicted: min(the devices' free memory minus the safety margin,
   * MAX_VRAM_PERCENT of their total minus `heldBytes`, the VRAM the loaded and loading variants hold).
   */
  availableVramBytes?(heldBytes: number): number;
}

/** A load's split between GPU and CPU (src/policy fitGpuLayers). */
export interface GpuPlan {
  /** Layers on the GPU, the output layer counted (llama.cpp's n_gpu_layers). */
  gpuLayers: number;
  /** n_layer + 1. */
  totalLayers: number;
  fullyOffloaded: boolean;
  vramBytes: number;
  ramBytes: number;
  /** False when GPU_LAYERS=max or N needs more VRAM than available: the load is refused, not attempted. */
  fits: boolean;
  /** One line on the split (and, when it does not fit, what to do). */
  detail: string;
}

/** Observations the scheduler reports; src/metrics implements it. Every method is optional. */
export interface SchedulerMetricsSink {
  observeQueueWait?(variant: SchedulableVariant, seconds: number): void;
  observeLoad?(variant: SchedulableVariant, seconds: number): void;
  countEviction?(variant: SchedulableVariant, reason: EvictionReason): void;
  countRejection?(reason: "queue_full" | "memory_budget" | "draining"): void;
}

/** `replaced`: the store now names other weights under the variant's name:tag (create, copy or add over it). */
export const EVICTION_REASONS = ["keep_alive", "lru", "memory", "explicit", "drain", "replaced"] as const;
export type EvictionReason = (typeof EVICTION_REASONS)[number];

export interface SchedulerOptions {
  engine: Engine;
  /** Turns a `name:tag` reference into a loadable variant; throws RFX_MODEL_NOT_FOUND for unknown ones. */
  resolveModel: (ref: string) => Promise<SchedulableVariant>;
  /** Context tokens of each loaded variant, shared by its sequences. */
  contextSize: number;
  /** Sequences per loaded variant; at most this many requests run on a variant at once. */
  parallel: number;
  /** Requests that may wait (all variants together) before RFX_QUEUE_FULL. */
  queueSize: number;
  /** Seconds an idle variant stays loaded; -1 forever, 0 unload when idle. */
  keepAliveSeconds: number;
  /** Most variants loaded at once; the least recently used idle one is evicted beyond it. */
  maxLoadedVariants: number;
  /** Decode threads passed to the engine; undefined lets the engine pick. */
  threads?: number;
  memory?: SchedulerMemoryHook;
  metrics?: SchedulerMetricsSink;
  /** Loads remote variants; without it a remote variant fails to load with RFX_ENGINE. */
  remote?: SchedulerRemoteLoader;
  /** Clock in ms. Defaults to performance.now-based wall time (Date.now). */
  now?: () => number;
}

export interface AcquireOptions {
  /** Aborting while queued removes the request from the queue; while loading it gives up the wait. */
  signal?: AbortSignal;
  /** Per-request keep-alive override in seconds (Ollama's keep_alive); the last request's value wins. */
  keepAliveSeconds?: number;
  /** Load the variant for embeddings (a separate context from the generation one). Defaults to false. */
  embedding?: boolean;
  /**
   * `ref` already resolved by the caller (the variant selector's catalog, current as of the store's stamp): no
   * store read per request. Defaults to resolving `ref`.
   */
  variant?: SchedulableVariant;
}

/** A running slot on a loaded variant; release() exactly once when the generation ends (extra calls are no-ops). */
export interface Lease {
  readonly model: LoadedModel;
  readonly variant: SchedulableVariant;
  readonly key: string;
  /** Time spent waiting in the queue, ms. */
  readonly queueMs: number;
  /** Time this request waited for the variant to load (0 when it was already loaded), ms. */
  readonly loadMs: number;
  release(): void;
}

export interface VariantStatus {
  key: string;
  name: string;
  tag: string;
  quantization: string;
  path: string;
  embedding: boolean;
  sizeBytes: number;
  /** RAM the variant is estimated to hold (its CPU side when layers are on a GPU). */
  estimatedBytes: number;
  /** VRAM the variant is estimated to hold (0 on the CPU): Ollama's size_vram. */
  vramBytes: number;
  /** Layers llama.cpp put on the GPU (output layer counted), and what that counts up to (n_layer + 1). */
  gpuLayers: number;
  totalLayers: number | null;
  contextSize: number;
  parallel: number;
  /** Requests holding a sequence on this variant. */
  running: number;
  /** Requests waiting for a sequence on this variant. */
  queued: number;
  /** Sequences the engine reports as generating. */
  activeSequences: number;
  loadMs: number;
  loadedAt: string;
  lastUsedAt: string;
  /** When the variant unloads if it stays idle; null while busy or kept forever. */
  expiresAt: string | null;
}

export interface SchedulerStatus {
  draining: boolean;
  parallel: number;
  queueSize: number;
  maxLoadedVariants: number;
  contextSize: number;
  /** Requests holding a sequence, all variants. */
  running: number;
  /** Requests waiting, all variants. */
  queued: number;
  /** High-water marks since start (or resetPeaks): the most running / queued at any instant. */
  peakRunning: number;
  peakQueued: number;
  /** Keys of variants being loaded now. */
  loading: string[];
  variants: VariantStatus[];
  /** Bytes the loaded variants are estimated to hold (0 without a memory hook). */
  estimatedLoadedBytes: number;
  /** VRAM the loaded variants are estimated to hold (0 on the CPU). */
  estimatedLoadedVramBytes: number;
}

export interface Scheduler {
  /** Waits for a sequence on the variant (loading it if needed) and returns the lease. */
  acquire(ref: string, options?: AcquireOptions): Promise<Lease>;
  /** acquire → fn(lease) → release, even when fn throws. */
  run<T>(ref: string, options: AcquireOptions, fn: (lease: Lease) => Promise<T>): Promise<T>;
  /** Loads the variant without holding a sequence (warm-up, /readyz). */
  load(ref: string, options?: Omit<AcquireOptions, "signal">): Promise<VariantStatus>;
  /**
   * Unloads every loaded variant of this file path or `name:tag` key once idle (a load in progress is awaited first);
   * returns how many were unloaded.
   */
  unload(refOrPath: string): Promise<number>;
  /** Whether the `name:tag` variant is loaded (its generation context, or its embedding one). */
  isLoaded(key: string, embedding?: boolean): boolean;
  /**
   * Memory verdict for loading the variant now: "loaded" (already), "fits", "fits_after_eviction" (idle
   * variants would have to go) or "never" (over budget even with nothing else loaded). Without a hook, "fits".
   */
  fit(variant: SchedulableVariant, embedding?: boolean): "loaded" | "fits" | "fits_after_eviction" | "never";
  status(): SchedulerStatus;
  /** True once drain() was called: new requests are refused. */
  isDraining(): boolean;
  resetPeaks(): void;
  /** Stops admitting (new requests get RFX_NOT_READY), waits for in-flight and queued ones, then unloads all. */
  drain(): Promise<void>;
  readonly parallel: number;
}
