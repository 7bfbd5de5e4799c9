// The scheduler: owns loaded variants and their sequences, admits requests through a bounded FIFO queue,
// loads on demand (deduplicated), keeps idle variants for keep_alive and evicts them by LRU or memory budget.
import { existsSync } from "node:fs";
import { ReflexiaError } from "../errors/index.ts";
import type { LoadedModel } from "../engine/types.ts";
import { keepAliveMsOf } from "./keep-alive-ms.ts";
import type {
  AcquireOptions,
  EvictionReason,
  GpuPlan,
  Lease,
  SchedulableVariant,
  Scheduler,
  SchedulerOptions,
  VariantStatus,
} from "./types.ts";

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Slot {
  key: string;
  /** Requests that may run at once: the scheduler's parallel, or a remote variant's own. */
  parallel: number;
  running: number;
  waiters: Waiter[];
}

interface LoadedEntry {
  key: string;
  variant: SchedulableVariant;
  embedding: boolean;
  model: LoadedModel;
  estimatedBytes: number;
  /** VRAM the load's GPU plan holds (0 on the CPU). */
  vramBytes: number;
  loadMs: number;
  loadedAt: number;
  lastUsedAt: number;
  /** Idle lifetime in ms: <0 forever, 0 unload as soon as idle. */
  keepAliveMs: number;
  expiresAt: number | null;
  timer: NodeJS.Timeout | null;
  /** Leases handed out on this entry and not yet released (the slot also counts requests still waiting for it). */
  leases: number;
}

/**
 * What a loaded entry answers for: a local variant's file (a settings-only change keeps it), a remote variant's spec
 * digest (its path is always `remote://name:tag`, so a replaced spec — new endpoints — shows only in the digest).
 */
function contentOf(variant: SchedulableVariant): string {
  return variant.remote ? `${variant.path}@${variant.manifest?.digest ?? ""}` : variant.path;
}

interface Loading {
  promise: Promise<LoadedEntry>;
  /** contentOf the variant being loaded (a replaced variant's next request must not be handed the old one). */
  content: string;
  /** Its file (an unload by path waits for it). */
  path: string;
  /** Updated once makeRoom has placed the load (RAM may shrink when layers go to the GPU). */
  estimatedBytes: number;
  vramBytes: number;
  /**
   * Set when makeRoom has made room for it: only then does it count against the variant limit and the memory of the
   * loads after it. A load still waiting for room holds nothing, so loads waiting on each other never deadlock.
   */
  placed: boolean;
}

/** `name:tag`, with `#embedding` for the separate embedding context of the same file. */
export function variantKey(variant: { name: string; tag: string }, embedding = false): string {
  return `${variant.name}:${variant.tag}${embedding ? "#embedding" : ""}`;
}

/** Why a waiting request stops: the abort's own reason when it is one of ours (e.g. the server shutting down), else the client left. */
function cancelled(signal?: AbortSignal): ReflexiaError {
  return signal?.reason instanceof ReflexiaError
    ? signal.reason
    : new ReflexiaError("RFX_CANCELLED", "the request was cancelled by the client");
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { engine, resolveModel, contextSize, queueSize, maxLoadedVariants, memory, metrics } = options;
  const parallel = Math.max(1, Math.floor(options.parallel));
  const now = options.now ?? Date.now;
  const defaultKeepAliveMs = keepAliveMsOf(options.keepAliveSeconds);

  const slots = new Map<string, Slot>();
  const loaded = new Map<string, LoadedEntry>();
  const loading = new Map<string, Loading>();
  let draining = false;
  let peakRunning = 0;
  let peakQueued = 0;
  // Mean time a request holds a sequence (EWMA, ms): sizes the Retry-After hint.
  let holdMsEwma = 1000;
  // Woken whenever a sequence is released, a variant unloads or a load settles: room may have appeared.
  let changeWaiters: (() => void)[] = [];

  const totals = (): { running: number; queued: number } => {
    let running = 0;
    let queued = 0;
    for (const s of slots.values()) {
      running += s.running;
      queued += s.waiters.length;
    }
    return { running, queued };
  };

  const bumpPeaks = (): void => {
    const t = totals();
    if (t.running > peakRunning) peakRunning = t.running;
    if (t.queued > peakQueued) peakQueued = t.queued;
  };

  const notifyChange = (): void => {
    const ws = changeWaiters;
    changeWaiters = [];
    for (const w of ws) w();
  };
  const waitForChange = (): Promise<void> => new Promise((resolve) => changeWaiters.push(resolve));

  const isIdle = (key: string): boolean => {
    const s = slots.get(key);
    return !s || (s.running === 0 && s.waiters.length === 0);
  };

  const parallelOf = (variant: SchedulableVariant): number =>
    variant.remote && options.remote ? Math.max(1, options.remote.parallelOf(variant.remote)) : parallel;

  const slotOf = (key: string, variant: SchedulableVariant): Slot => {
    let s = slots.get(key);
    if (!s) slots.set(key, (s = { key, parallel: parallelOf(variant), running: 0, waiters: [] }));
    return s;
  };

  const clearTimer = (e: LoadedEntry): void => {
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    e.expiresAt = null;
  };

  const unloadEntry = async (e: LoadedEntry, reason: EvictionReason): Promise<void> => {
    if (loaded.get(e.key) !== e) return;
    clearTimer(e);
    loaded.delete(e.key);
    try {
      await e.model.dispose();
    } finally {
      metrics?.countEviction?.(e.variant, reason);
      notifyChange();
    }
  };

  /** Arms the keep-alive timer of an idle variant (or unloads it at once for keep_alive 0). */
  const scheduleExpiry = (e: LoadedEntry): void => {
    clearTimer(e);
    if (draining || e.keepAliveMs < 0) return;
    if (e.keepAliveMs === 0) {
      void unloadEntry(e, "keep_alive").catch(() => {});
      return;
    }
    e.expiresAt = now() + e.keepAliveMs;
    e.timer = setTimeout(() => {
      if (isIdle(e.key)) void unloadEntry(e, "keep_alive").catch(() => {});
    }, e.keepAliveMs);
    e.timer.unref();
  };

  const onIdle = (key: string): void => {
    const e = loaded.get(key);
    if (e) {
      e.lastUsedAt = now();
      scheduleExpiry(e);
    }
    if (slots.get(key)?.running === 0 && slots.get(key)?.waiters.length === 0) slots.delete(key);
  };

  const releaseSlot = (slot: Slot): void => {
    const next = slot.waiters.shift();
    if (next) {
      // The sequence passes straight to the oldest waiter: running stays the same and FIFO order holds.
      if (next.onAbort) next.signal?.removeEventListener("abort", next.onAbort);
      next.resolve();
    } else {
      slot.running = Math.max(0, slot.running - 1);
      if (slot.running === 0) onIdle(slot.key);
    }
    notifyChange();
  };

  const retryAfterSeconds = (queued: number): number =>
    Math.min(60, Math.max(1, Math.ceil((holdMsEwma * (queued / parallel + 1)) / 1000)));

  const admit = (slot: Slot, signal?: AbortSignal): Promise<void> => {
    if (slot.running < slot.parallel && slot.waiters.length === 0) {
      slot.running++;
      bumpPeaks();
      return Promise.resolve();
    }
    const { queued } = totals();
    if (queued >= queueSize) {
      metrics?.countRejection?.("queue_full");
      const retryAfter = retryAfterSeconds(queued);
      throw new ReflexiaError(
        "RFX_QUEUE_FULL",
        `the request queue is full (${queued} waiting); retry in ${retryAfter} s`,
        {
          retryAfterSeconds: retryAfter,
          queued,
          queueSize,
        },
      );
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = slot.waiters.indexOf(w);
          if (i >= 0) slot.waiters.splice(i, 1);
          if (slot.running === 0 && slot.waiters.length === 0) onIdle(slot.key);
          notifyChange();
          reject(cancelled(signal));
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      slot.waiters.push(w);
      bumpPeaks();
    });
  };

  const sumEstimates = (exceptKey?: string): { loadedBytes: number; loadingBytes: number; vramBytes: number } => {
    let loadedBytes = 0;
    let loadingBytes = 0;
    let vramBytes = 0;
    for (const e of loaded.values()) {
      loadedBytes += e.estimatedBytes;
      vramBytes += e.vramBytes;
    }
    for (const [k, l] of loading) {
      if (k === exceptKey) continue;
      if (l.placed) loadingBytes += l.estimatedBytes;
      vramBytes += l.vramBytes;
    }
    return { loadedBytes, loadingBytes, vramBytes };
  };

  /** The least recently used idle variant that holds VRAM. */
  const lruIdleOnGpu = (exceptKey: string): LoadedEntry | undefined => {
    let best: LoadedEntry | undefined;
    for (const e of loaded.values()) {
      if (e.key === exceptKey || e.vramBytes <= 0 || !isIdle(e.key)) continue;
      if (!best || e.lastUsedAt < best.lastUsedAt) best = e;
    }
    return best;
  };

  const lruIdle = (exceptKey: string): LoadedEntry | undefined => {
    let best: LoadedEntry | undefined;
    for (const e of loaded.values()) {
      // Evicting a remote variant frees nothing (and would drop its model for no gain).
      if (e.key === exceptKey || !isIdle(e.key) || e.variant.remote) continue;
      if (!best || e.lastUsedAt < best.lastUsedAt) best = e;
    }
    return best;
  };

  /**
   * With a GPU, the load's split between VRAM and RAM, evicting idle variants that hold VRAM while that gives the
   * new one more layers (or lets GPU_LAYERS=max / N fit at all). Refuses with RFX_MEMORY_BUDGET when an explicit
   * layer count cannot fit even then; undefined on the CPU.
   */
  const placeOnGpu = async (
    key: string,
    variant: SchedulableVariant,
    embedding: boolean,
  ): Promise<GpuPlan | undefined> => {
    if (!memory?.placeOnGpu || !memory.availableVramBytes) return undefined;
    const load = { contextSize, parallel: embedding ? 1 : parallel, embedding };
    for (;;) {
      const available = memory.availableVramBytes(sumEstimates(key).vramBytes);
      const plan = memory.placeOnGpu(variant, load, available);
      if (!plan || (plan.fits && plan.fullyOffloaded)) return plan;
      let evictable = 0;
      for (const e of loaded.values()) if (e.key !== key && e.vramBytes > 0 && isIdle(e.key)) evictable += e.vramBytes;
      const victim = lruIdleOnGpu(key);
      if (victim && evictable > 0) {
        const better = memory.placeOnGpu(variant, load, available + evictable)!;
        if ((better.fits && !plan.fits) || better.gpuLayers > plan.gpuLayers) {
          await unloadEntry(victim, "memory");
          continue;
        }
      }
      if (plan.fits) return plan;
      const othersOnGpu =
        [...loaded.values()].some((e) => e.key !== key && e.vramBytes > 0) ||
        [...loading].some(([k, l]) => k !== key && l.vramBytes > 0);
      if (othersOnGpu && memory.placeOnGpu(variant, load, available + sumEstimates(key).vramBytes)!.fits) {
        // Busy variants hold the VRAM it needs: wait for one to finish (keep-alive or an eviction frees it).
        await waitForChange();
        continue;
      }
      metrics?.countRejection?.("memory_budget");
      throw new ReflexiaError("RFX_MEMORY_BUDGET", `${variant.name}:${variant.tag}: ${plan.detail}`, {
        variant: `${variant.name}:${variant.tag}`,
        vramBytes: plan.vramBytes,
        availableVramBytes: available,
        gpuLayers: plan.gpuLayers,
      });
    }
  };

  /**
   * Evicts idle variants until the new one fits both the variant count and the memory budget. When only busy
   * variants stand in the way it waits for one to become idle; when even an empty server could not hold the
   * variant it refuses with RFX_MEMORY_BUDGET.
   */
  const makeRoom = async (key: string, variant: SchedulableVariant, state: Loading): Promise<void> => {
    const estimate = state.estimatedBytes;
    const placedOthers = (): number => [...loading].filter(([k, l]) => k !== key && l.placed).length;
    // RSS does not shrink the instant a model is disposed; count what was evicted here as already freed.
    let credit = 0;
    for (;;) {
      const othersCount = [...loaded.values()].filter((e) => !e.variant.remote).length + placedOthers();
      const overCount = othersCount >= maxLoadedVariants;
      let overMemory = false;
      if (memory) {
        const budget = memory.budgetBytes();
        const used = Math.max(0, memory.usedBytes() - credit);
        const { loadedBytes, loadingBytes } = sumEstimates(key);
        const baseline = Math.max(0, used - loadedBytes);
        if (baseline + estimate > budget) {
          metrics?.countRejection?.("memory_budget");
          throw new ReflexiaError(
            "RFX_MEMORY_BUDGET",
            `${variant.name}:${variant.tag} needs about ${Math.round(estimate / 2 ** 20)} MiB, which does not fit the memory budget of ${Math.round(budget / 2 ** 20)} MiB even with no other variant loaded (MAX_MEMORY_PERCENT)`,
            {
              variant: `${variant.name}:${variant.tag}`,
              estimatedBytes: estimate,
              budgetBytes: budget,
              usedBytes: used,
            },
          );
        }
        overMemory = used + loadingBytes + estimate > budget;
      }
      if (!overCount && !overMemory) {
        // Set before any await: a load woken by the same change then counts this one.
        state.placed = true;
        return;
      }
      const victim = lruIdle(key);
      if (victim) {
        credit += overMemory ? victim.estimatedBytes : 0;
        await unloadEntry(victim, overMemory ? "memory" : "lru");
        continue;
      }
      const othersBusy = [...loaded.values()].some((e) => e.key !== key && !isIdle(e.key)) || placedOthers() > 0;
      if (!othersBusy) {
        // Nothing will ever be released: the estimates say it cannot fit next to what is resident.
        metrics?.countRejection?.("memory_budget");
        throw new ReflexiaError(
          "RFX_MEMORY_BUDGET",
          `${variant.name}:${variant.tag} does not fit the memory budget next to the loaded variants`,
          {
            variant: `${variant.name}:${variant.tag}`,
            estimatedBytes: estimate,
          },
        );
      }
      await waitForChange();
    }
  };

  const estimateOf = (variant: SchedulableVariant, embedding: boolean): number =>
    memory ? memory.estimateBytes(variant, { contextSize, parallel, embedding }) : 0;

  /** Enters a just-loaded model in `loaded`, used now, on the default keep-alive. */
  const register = (
    key: string,
    variant: SchedulableVariant,
    embedding: boolean,
    model: LoadedEntry["model"],
    cost: Pick<LoadedEntry, "estimatedBytes" | "vramBytes" | "loadMs">,
  ): LoadedEntry => {
    const entry: LoadedEntry = {
      key,
      variant,
      embedding,
      model,
      ...cost,
      loadedAt: now(),
      lastUsedAt: now(),
      keepAliveMs: defaultKeepAliveMs,
      expiresAt: null,
      timer: null,
      leases: 0,
    };
    loaded.set(key, entry);
    return entry;
  };

  /** A remote variant holds no memory and counts against no variant limit: it never evicts a local one. */
  const loadRemote = async (key: string, variant: SchedulableVariant, embedding: boolean): Promise<LoadedEntry> => {
    if (embedding || !options.remote || !variant.remote)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `${key} is a remote variant: ${embedding ? "embeddings are not served by remote variants" : "this server has no remote backend"}`,
      );
    const t0 = now();
    const model = options.remote.load({
      name: variant.name,
      tag: variant.tag,
      quantization: variant.quantization,
      digest: variant.manifest?.digest ?? variant.path,
      remote: variant.remote,
    });
    return register(key, variant, embedding, model, { estimatedBytes: 0, vramBytes: 0, loadMs: now() - t0 });
  };

  /**
   * The loaded entry of `variant`, loading it when needed. With `claim` the entry's `leases` is raised in the same
   * turn as it is chosen, so a replacement never disposes an entry a request has been handed; the caller lowers it
   * when done (or when it gives up, see acquire).
   */
  const ensureLoaded = async (variant: SchedulableVariant, embedding: boolean, claim = false): Promise<LoadedEntry> => {
    const key = variantKey(variant, embedding);
    for (;;) {
      const existing = loaded.get(key);
      // The store replaced the weights under this name:tag (create, copy or add over it): the loaded ones must not
      // answer for the new ones. Their requests finish on them; then they go, and this request loads the new file.
      if (existing && contentOf(existing.variant) !== contentOf(variant)) {
        existing.keepAliveMs = 0;
        if (existing.leases === 0) await unloadEntry(existing, "replaced");
        else await waitForChange();
        continue;
      }
      if (existing) {
        clearTimer(existing);
        if (claim) existing.leases++;
        return existing;
      }
      const pending = loading.get(key);
      if (!pending) break;
      // A load of this file: its outcome is this request's (a failed load fails it too). A load of the file the
      // variant had before: wait for it, then it is replaced as above.
      if (pending.content === contentOf(variant)) await pending.promise;
      else await pending.promise.catch(() => undefined);
    }
    const state: Loading = {
      promise: undefined as unknown as Promise<LoadedEntry>,
      content: contentOf(variant),
      path: variant.path,
      estimatedBytes: estimateOf(variant, embedding),
      vramBytes: 0,
      placed: false,
    };
    const promise = (async () => {
      if (variant.remote) return loadRemote(key, variant, embedding);
      const plan = await placeOnGpu(key, variant, embedding);
      if (plan) {
        state.estimatedBytes = plan.ramBytes;
        state.vramBytes = plan.vramBytes;
      }
      await makeRoom(key, variant, state);
      const t0 = now();
      let model: LoadedModel;
      try {
        model = await engine.loadModel({
          path: variant.path,
          contextSize,
          parallel: embedding ? 1 : parallel,
          threads: options.threads,
          embedding,
          ...(plan && plan.gpuLayers > 0 ? { gpuLayers: plan.gpuLayers } : {}),
        });
      } catch (e) {
        // The variant was removed while this request waited for its load (its file went with it).
        if (!variant.remote && /ENOENT|no such file/i.test(String((e as Error).message)) && !existsSync(variant.path))
          throw new ReflexiaError("RFX_MODEL_NOT_FOUND", `model ${key} was deleted while the request waited for it`, {
            variant: key,
          });
        throw e instanceof ReflexiaError
          ? e
          : new ReflexiaError(
              "RFX_ENGINE",
              `loading ${key} failed: ${(e as Error).message}`,
              { variant: key },
              { cause: e },
            );
      }
      const loadMs = now() - t0;
      metrics?.observeLoad?.(variant, loadMs / 1000);
      return register(key, variant, embedding, model, {
        estimatedBytes: state.estimatedBytes,
        vramBytes: state.vramBytes,
        loadMs,
      });
    })();
    state.promise = promise;
    loading.set(key, state);
    const settle = (): void => {
      loading.delete(key);
      notifyChange();
    };
    promise.then(settle, settle);
    const entry = await promise;
    // Handed over in the turn the load settles in (before any other request's turn can unload it).
    if (claim) entry.leases++;
    return entry;
  };

  const abortable = <T>(p: Promise<T>, signal?: AbortSignal): Promise<T> => {
    if (!signal) return p;
    if (signal.aborted) return Promise.reject(cancelled(signal));
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(cancelled(signal));
      signal.addEventListener("abort", onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      );
    });
  };

  const assertAdmitting = (): void => {
    if (draining) {
      metrics?.countRejection?.("draining");
      throw new ReflexiaError("RFX_NOT_READY", "the server is shutting down and no longer accepts requests");
    }
  };

  const acquire = async (ref: string, opts: AcquireOptions = {}): Promise<Lease> => {
    assertAdmitting();
    if (opts.signal?.aborted) throw cancelled(opts.signal);
    const variant = opts.variant ?? (await resolveModel(ref));
    const embedding = opts.embedding === true;
    const key = variantKey(variant, embedding);
    const slot = slotOf(key, variant);
    const tQueue = now();
    await admit(slot, opts.signal);
    const queueMs = now() - tQueue;
    metrics?.observeQueueWait?.(variant, queueMs / 1000);
    const tLoad = now();
    const wasLoaded = loaded.get(key)?.variant.path === variant.path;
    const claimed = ensureLoaded(variant, embedding, true);
    let entry: LoadedEntry | undefined;
    try {
      const held = await abortable(claimed, opts.signal);
      entry = held;
      if (opts.signal?.aborted) throw cancelled(opts.signal);
      const loadMs = wasLoaded ? 0 : now() - tLoad;
      if (opts.keepAliveSeconds !== undefined) held.keepAliveMs = keepAliveMsOf(opts.keepAliveSeconds);
      clearTimer(held);
      held.lastUsedAt = now();
      const started = now();
      let released = false;
      return {
        model: held.model,
        variant: held.variant,
        key,
        queueMs,
        loadMs,
        release() {
          if (released) return;
          released = true;
          holdMsEwma = holdMsEwma * 0.8 + (now() - started) * 0.2;
          held.lastUsedAt = now();
          held.leases--;
          releaseSlot(slot);
        },
      };
    } catch (e) {
      // Given up (cancelled, or the load failed): the claim ensureLoaded made, now or when the load ends, goes.
      const drop = (held: LoadedEntry): void => {
        held.leases--;
        notifyChange();
      };
      if (entry) drop(entry);
      else claimed.then(drop, () => {});
      releaseSlot(slot);
      throw e;
    }
  };

  const statusOf = (e: LoadedEntry): VariantStatus => {
    const slot = slots.get(e.key);
    return {
      key: e.key,
      name: e.variant.name,
      tag: e.variant.tag,
      quantization: e.variant.quantization,
      path: e.variant.path,
      embedding: e.embedding,
      sizeBytes: e.variant.sizeBytes,
      estimatedBytes: e.estimatedBytes,
      vramBytes: e.vramBytes,
      gpuLayers: e.model.offload?.gpuLayers ?? 0,
      totalLayers: e.model.offload?.totalLayers ?? null,
      contextSize: e.model.contextSize,
      parallel: e.model.parallel,
      running: slot?.running ?? 0,
      queued: slot?.waiters.length ?? 0,
      activeSequences: e.model.activeSequences(),
      loadMs: Math.round(e.loadMs),
      loadedAt: new Date(e.loadedAt).toISOString(),
      lastUsedAt: new Date(e.lastUsedAt).toISOString(),
      expiresAt: e.expiresAt === null ? null : new Date(e.expiresAt).toISOString(),
    };
  };

  const scheduler: Scheduler = {
    parallel,
    acquire,
    async run(ref, opts, fn) {
      const lease = await acquire(ref, opts);
      try {
        return await fn(lease);
      } finally {
        lease.release();
      }
    },
    async load(ref, opts = {}) {
      assertAdmitting();
      const variant = await resolveModel(ref);
      const embedding = opts.embedding === true;
      const entry = await ensureLoaded(variant, embedding);
      if (opts.keepAliveSeconds !== undefined) entry.keepAliveMs = keepAliveMsOf(opts.keepAliveSeconds);
      entry.lastUsedAt = now();
      if (isIdle(entry.key)) scheduleExpiry(entry);
      return statusOf(entry);
    },
    async unload(refOrPath) {
      const matching = (key: string, path: string): boolean =>
        path === refOrPath || key === refOrPath || key === `${refOrPath}#embedding`;
      // A load in progress ends first (a removal must not delete the file while it is opened); then it goes as a
      // loaded one does.
      for (const [k, l] of [...loading]) if (matching(k, l.path)) await l.promise.catch(() => undefined);
      let n = 0;
      for (const e of [...loaded.values()]) {
        if (!matching(e.key, e.variant.path)) continue;
        n++;
        if (isIdle(e.key)) await unloadEntry(e, "explicit");
        else e.keepAliveMs = 0; // unloads when its last request ends
      }
      return n;
    },
    isLoaded(key, embedding = false) {
      return loaded.has(embedding ? `${key}#embedding` : key);
    },
    fit(variant, embedding = false) {
      const key = variantKey(variant, embedding);
      if (loaded.get(key) && contentOf(loaded.get(key)!.variant) === contentOf(variant)) return "loaded";
      if (!memory || variant.remote) return "fits";
      const estimate = estimateOf(variant, embedding);
      const budget = memory.budgetBytes();
      const used = memory.usedBytes();
      const { loadedBytes, loadingBytes } = sumEstimates(key);
      if (Math.max(0, used - loadedBytes) + estimate > budget) return "never";
      return used + loadingBytes + estimate <= budget ? "fits" : "fits_after_eviction";
    },
    status() {
      const t = totals();
      const variants = [...loaded.values()].map(statusOf);
      return {
        draining,
        parallel,
        queueSize,
        maxLoadedVariants,
        contextSize,
        running: t.running,
        queued: t.queued,
        peakRunning,
        peakQueued,
        loading: [...loading.keys()],
        variants,
        estimatedLoadedBytes: variants.reduce((a, v) => a + v.estimatedBytes, 0),
        estimatedLoadedVramBytes: variants.reduce((a, v) => a + v.vramBytes, 0),
      };
    },
    isDraining: () => draining,
    resetPeaks() {
      const t = totals();
      peakRunning = t.running;
      peakQueued = t.queued;
    },
    async drain() {
      draining = true;
      for (;;) {
        const t = totals();
        if (t.running === 0 && t.queued === 0 && loading.size === 0) break;
        await waitForChange();
      }
      for (const e of [...loaded.values()]) await unloadEntry(e, "drain").catch(() => {});
    },
  };
  return scheduler;
}
