// Scheduler behaviour against the pausable fake engine: admission, queueing, cancellation, loading and eviction.
import { describe, expect, it } from "vitest";
import { ReflexiaError } from "../errors/index.ts";
import { createFakeEngine } from "../../test/support/fake-engine.ts";
import { createScheduler } from "./create-scheduler.ts";
import { defaultParallel } from "./default-parallel.ts";
import { keepAliveMsOf } from "./keep-alive-ms.ts";
import type { SchedulableVariant, SchedulerOptions } from "./types.ts";

const VARIANTS: Record<string, SchedulableVariant> = Object.fromEntries(
  ["m:a", "m:b", "m:c", "big:f16"].map((ref) => {
    const [name, tag] = ref.split(":");
    return [ref, { name, tag, quantization: tag, path: `/models/${name}-${tag}.gguf`, sizeBytes: 1000 }];
  }),
);

async function resolveModel(ref: string): Promise<SchedulableVariant> {
  const v = VARIANTS[ref];
  if (!v) throw new ReflexiaError("RFX_MODEL_NOT_FOUND", `no model ${ref}`);
  return v;
}

function setup(over: Partial<SchedulerOptions> = {}, engineOpts: Parameters<typeof createFakeEngine>[0] = {}) {
  const engine = createFakeEngine(engineOpts);
  const scheduler = createScheduler({
    engine,
    resolveModel,
    contextSize: 1024,
    parallel: 4,
    queueSize: 16,
    keepAliveSeconds: 300,
    maxLoadedVariants: 3,
    ...over,
  });
  return { engine, scheduler };
}

async function waitFor(cond: () => boolean, what = "condition"): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return e instanceof ReflexiaError ? e.code : String(e);
  }
}

describe("createScheduler", () => {
  it("runs 16 concurrent streams on parallel 4: at most 4 decode at once, 12 queue, all complete", async () => {
    const { engine, scheduler } = setup();
    engine.hold();
    const streamed: string[][] = Array.from({ length: 16 }, () => []);
    const jobs = Array.from({ length: 16 }, (_, i) =>
      scheduler.run("m:a", {}, (lease) =>
        lease.model.generate(`prompt ${i}`, { maxTokens: 8, onText: (t) => streamed[i].push(t) }),
      ),
    );
    await waitFor(() => engine.held() === 4 && scheduler.status().queued === 12, "4 running and 12 queued");
    const st = scheduler.status();
    expect(st.running).toBe(4);
    expect(st.queued).toBe(12);
    expect(st.variants[0].activeSequences).toBe(4);
    engine.resume();
    const results = await Promise.all(jobs);
    expect(results.every((r) => r.completionTokens === 8 && r.finishReason === "length")).toBe(true);
    expect(streamed.every((s) => s.length === 8)).toBe(true);
    expect(engine.peakConcurrent).toBe(4);
    expect(scheduler.status()).toMatchObject({ running: 0, queued: 0, peakRunning: 4, peakQueued: 12 });
  });

  it("serves the queue in FIFO order", async () => {
    const { engine, scheduler } = setup({ parallel: 1 });
    engine.hold();
    const order: number[] = [];
    const jobs = [0, 1, 2, 3].map((i) =>
      scheduler.run("m:a", {}, async (lease) => {
        order.push(i);
        return lease.model.generate("x", { maxTokens: 1 });
      }),
    );
    await waitFor(() => scheduler.status().queued === 3);
    engine.resume();
    await Promise.all(jobs);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it("rejects with RFX_QUEUE_FULL and a Retry-After hint once the queue is full", async () => {
    const { engine, scheduler } = setup({ parallel: 1, queueSize: 2 });
    engine.hold();
    const jobs = [0, 1, 2].map(() => scheduler.run("m:a", {}, (l) => l.model.generate("x", { maxTokens: 2 })));
    await waitFor(() => scheduler.status().queued === 2);
    let err: ReflexiaError | undefined;
    try {
      await scheduler.acquire("m:a");
    } catch (e) {
      err = e as ReflexiaError;
    }
    expect(err?.code).toBe("RFX_QUEUE_FULL");
    expect(err?.details?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    engine.resume();
    await Promise.all(jobs);
    expect(scheduler.status().queued).toBe(0);
  });

  it("a cancelled queued request leaves the queue", async () => {
    const { engine, scheduler } = setup({ parallel: 1 });
    engine.hold();
    const first = scheduler.run("m:a", {}, (l) => l.model.generate("x", { maxTokens: 2 }));
    await waitFor(() => engine.held() === 1);
    const ac = new AbortController();
    const queued = scheduler.acquire("m:a", { signal: ac.signal });
    await waitFor(() => scheduler.status().queued === 1);
    ac.abort();
    expect(await codeOf(queued)).toBe("RFX_CANCELLED");
    expect(scheduler.status().queued).toBe(0);
    engine.resume();
    await first;
    expect(scheduler.status().running).toBe(0);
  });

  it("a cancelled running generation frees its sequence for the next request", async () => {
    const { scheduler } = setup({ parallel: 1 }, { tokenDelayMs: 2 });
    const ac = new AbortController();
    let tokens = 0;
    const running = scheduler.run("m:a", { signal: ac.signal }, (l) =>
      l.model.generate("x", { maxTokens: 100_000, signal: ac.signal, onText: () => tokens++ }),
    );
    await waitFor(() => tokens >= 3);
    const next = scheduler.run("m:a", {}, (l) => l.model.generate("y", { maxTokens: 2 }));
    await waitFor(() => scheduler.status().queued === 1);
    ac.abort();
    const r = await running;
    expect(r.finishReason).toBe("cancelled");
    expect((await next).completionTokens).toBe(2);
    expect(scheduler.status()).toMatchObject({ running: 0, queued: 0 });
    expect(scheduler.status().variants[0].activeSequences).toBe(0);
  });

  it("loads a variant once for concurrent first requests", async () => {
    const { engine, scheduler } = setup({}, { loadDelayMs: 30 });
    await Promise.all(
      Array.from({ length: 6 }, () => scheduler.run("m:a", {}, (l) => l.model.generate("x", { maxTokens: 1 }))),
    );
    expect(engine.loads.length).toBe(1);
    expect(engine.loads[0]).toMatchObject({
      path: "/models/m-a.gguf",
      contextSize: 1024,
      parallel: 4,
      embedding: false,
    });
  });

  it("reports loadMs for the request that waited for the load and 0 once loaded", async () => {
    const { scheduler } = setup({}, { loadDelayMs: 20 });
    const l1 = await scheduler.acquire("m:a");
    l1.release();
    const l2 = await scheduler.acquire("m:a");
    l2.release();
    expect(l1.loadMs).toBeGreaterThan(0);
    expect(l2.loadMs).toBe(0);
  });

  it("keep_alive 0 unloads as soon as the variant is idle; -1 keeps it; a timer expires the default", async () => {
    const { engine, scheduler } = setup({ keepAliveSeconds: 0.05 });
    await scheduler.run("m:a", { keepAliveSeconds: 0 }, (l) => l.model.generate("x", { maxTokens: 1 }));
    await waitFor(() => engine.disposed.length === 1, "m:a unloaded");
    expect(scheduler.isLoaded("m:a")).toBe(false);
    await scheduler.run("m:b", { keepAliveSeconds: -1 }, (l) => l.model.generate("x", { maxTokens: 1 }));
    await scheduler.run("m:c", {}, (l) => l.model.generate("x", { maxTokens: 1 }));
    expect(scheduler.status().variants.find((v) => v.key === "m:c")?.expiresAt).not.toBeNull();
    await waitFor(() => !scheduler.isLoaded("m:c"), "m:c expired");
    await new Promise((r) => setTimeout(r, 80));
    expect(scheduler.isLoaded("m:b")).toBe(true);
    expect(scheduler.status().variants.find((v) => v.key === "m:b")?.expiresAt).toBeNull();
  });

  it("a keep_alive too long for a timer (≥ 24.8 days, 1e308) keeps the variant forever instead of unloading it at once", async () => {
    const { scheduler } = setup({ keepAliveSeconds: 0.05 });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      for (const [ref, seconds] of [
        ["m:a", 1e308],
        ["m:b", 25 * 24 * 3600],
        ["m:c", 2 ** 31],
      ] as const) {
        await scheduler.run(ref, { keepAliveSeconds: seconds }, (l) => l.model.generate("x", { maxTokens: 1 }));
      }
      await new Promise((r) => setTimeout(r, 100));
      for (const key of ["m:a", "m:b", "m:c"]) {
        expect(scheduler.isLoaded(key), key).toBe(true);
        expect(scheduler.status().variants.find((v) => v.key === key)?.expiresAt).toBeNull();
      }
      expect(warnings).not.toContain("TimeoutOverflowWarning");
    } finally {
      process.off("warning", onWarning);
    }
    expect(keepAliveMsOf(24 * 24 * 3600)).toBe(24 * 24 * 3600 * 1000);
    expect(keepAliveMsOf(25 * 24 * 3600)).toBe(-1);
  });

  it("evicts the least recently used idle variant beyond maxLoadedVariants", async () => {
    const { engine, scheduler } = setup({ maxLoadedVariants: 2 });
    const use = (ref: string) => scheduler.run(ref, {}, (l) => l.model.generate("x", { maxTokens: 1 }));
    await use("m:a");
    await use("m:b");
    await use("m:a"); // m:b is now the least recently used
    await use("m:c");
    expect(engine.disposed).toEqual(["/models/m-b.gguf"]);
    expect(
      scheduler
        .status()
        .variants.map((v) => v.key)
        .sort(),
    ).toEqual(["m:a", "m:c"]);
  });

  it("never evicts a busy variant: a load waits until one becomes idle", async () => {
    const { engine, scheduler } = setup({ maxLoadedVariants: 1 });
    engine.hold();
    const a = scheduler.run("m:a", {}, (l) => l.model.generate("x", { maxTokens: 2 }));
    await waitFor(() => engine.held() === 1);
    const b = scheduler.run("m:b", {}, (l) => l.model.generate("x", { maxTokens: 2 }));
    await new Promise((r) => setTimeout(r, 30));
    expect(engine.loads.length).toBe(1);
    expect(scheduler.status().loading).toEqual(["m:b"]);
    engine.resume();
    await Promise.all([a, b]);
    expect(engine.disposed).toEqual(["/models/m-a.gguf"]);
    expect(scheduler.isLoaded("m:b")).toBe(true);
  });

  it("respects the memory budget: evicts idle variants, refuses what never fits", async () => {
    const MiB = 2 ** 20;
    const estimates: Record<string, number> = {
      "m:a": 100 * MiB,
      "m:b": 100 * MiB,
      "m:c": 100 * MiB,
      "big:f16": 900 * MiB,
    };
    let loadedBytes = 0;
    const { engine, scheduler } = setup({
      memory: {
        estimateBytes: (v) => estimates[`${v.name}:${v.tag}`],
        budgetBytes: () => 450 * MiB,
        // A process baseline of 200 MiB plus what is loaded, like RSS would show.
        usedBytes: () => 200 * MiB + loadedBytes,
      },
    });
    const use = async (ref: string) => {
      await scheduler.run(ref, {}, (l) => l.model.generate("x", { maxTokens: 1 }));
      loadedBytes = scheduler.status().estimatedLoadedBytes;
    };
    expect(scheduler.fit(VARIANTS["big:f16"])).toBe("never");
    expect(await codeOf(scheduler.acquire("big:f16"))).toBe("RFX_MEMORY_BUDGET");
    expect(scheduler.status().running).toBe(0);
    await use("m:a");
    await use("m:b");
    expect(scheduler.fit(VARIANTS["m:c"])).toBe("fits_after_eviction");
    expect(scheduler.fit(VARIANTS["m:a"])).toBe("loaded");
    await use("m:c");
    expect(engine.disposed).toEqual(["/models/m-a.gguf"]);
    expect(scheduler.status().estimatedLoadedBytes).toBe(200 * MiB);
  });

  it("places layers on the GPU: evicts idle variants holding VRAM for a whole fit, refuses GPU_LAYERS=max that cannot fit", async () => {
    const MiB = 2 ** 20;
    // VRAM: 1000 MiB available minus what loaded variants hold; a variant needs 30 MiB per layer (33 layers = 990).
    const perLayer = 30 * MiB;
    let setting: "auto" | "max" = "auto";
    const place = (_v: SchedulableVariant, _l: unknown, available: number) => {
      const g = setting === "max" ? 33 : Math.min(33, Math.floor(available / perLayer));
      return {
        gpuLayers: g,
        totalLayers: 33,
        fullyOffloaded: g === 33,
        vramBytes: g * perLayer,
        ramBytes: (33 - g) * perLayer + 10 * MiB,
        fits: g * perLayer <= available,
        detail: `${g}/33 layers`,
      };
    };
    const { engine, scheduler } = setup({
      memory: {
        estimateBytes: () => 33 * perLayer,
        budgetBytes: () => 100_000 * MiB,
        usedBytes: () => 0,
        placeOnGpu: place,
        availableVramBytes: (held) => Math.max(0, 1000 * MiB - held),
      },
    });
    await scheduler.run("m:a", {}, (l) => l.model.generate("x", { maxTokens: 1 }));
    expect(engine.loads.at(-1)!.gpuLayers).toBe(33);
    const a = scheduler.status().variants[0]!;
    expect(a).toMatchObject({ gpuLayers: 33, totalLayers: 33, vramBytes: 990 * MiB, estimatedBytes: 10 * MiB });
    expect(scheduler.status().estimatedLoadedVramBytes).toBe(990 * MiB);

    // m:b would get no layer next to m:a; m:a is idle, so it goes and m:b runs whole on the GPU.
    await scheduler.run("m:b", {}, (l) => l.model.generate("x", { maxTokens: 1 }));
    expect(engine.disposed).toEqual(["/models/m-a.gguf"]);
    expect(engine.loads.at(-1)!.gpuLayers).toBe(33);

    // While m:b is busy it keeps its VRAM: auto loads m:c with what is left (none), on the CPU.
    engine.hold();
    const busy = scheduler.run("m:b", {}, (l) => l.model.generate("x", { maxTokens: 2 }));
    await waitFor(() => engine.held() === 1, "m:b busy");
    await scheduler.run("m:c", {}, async (l) => l.model.offload?.gpuLayers).then((g) => expect(g).toBe(0));
    expect(engine.loads.at(-1)!.gpuLayers).toBeUndefined();
    engine.resume();
    await busy;

    // max: the layers must fit; with nothing idle to evict that can free enough, the load is refused up front.
    setting = "max";
    await scheduler.unload("m:c");
    engine.hold();
    const busyB = scheduler.run("m:b", {}, (l) => l.model.generate("x", { maxTokens: 2 }));
    await waitFor(() => engine.held() === 1, "m:b busy again");
    const pending = scheduler.acquire("big:f16");
    // m:b holds the VRAM big needs: it waits for m:b instead of failing, then m:b idles and is evicted.
    engine.resume();
    await busyB;
    const lease = await pending;
    expect(lease.model.offload?.gpuLayers).toBe(33);
    lease.release();
    expect(engine.disposed).toContain("/models/m-b.gguf");
  });

  it("refuses GPU_LAYERS=max with RFX_MEMORY_BUDGET when the VRAM is not there at all", async () => {
    const MiB = 2 ** 20;
    const { scheduler } = setup({
      memory: {
        estimateBytes: () => 10 * MiB,
        budgetBytes: () => 100_000 * MiB,
        usedBytes: () => 0,
        placeOnGpu: () => ({
          gpuLayers: 33,
          totalLayers: 33,
          fullyOffloaded: true,
          vramBytes: 2000 * MiB,
          ramBytes: 10 * MiB,
          fits: false,
          detail: "GPU_LAYERS=max needs 2000 MiB VRAM",
        }),
        availableVramBytes: () => 1000 * MiB,
      },
    });
    const err = await scheduler.acquire("m:a").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReflexiaError);
    expect((err as ReflexiaError).code).toBe("RFX_MEMORY_BUDGET");
    expect((err as ReflexiaError).message).toBe("m:a: GPU_LAYERS=max needs 2000 MiB VRAM");
    expect(scheduler.status().running).toBe(0);
  });

  it("maps load failures to RFX_ENGINE and frees the sequence", async () => {
    const { scheduler } = setup({ parallel: 1 }, { failPaths: ["/models/m-a.gguf"] });
    expect(await codeOf(scheduler.acquire("m:a"))).toBe("RFX_ENGINE");
    expect(await codeOf(scheduler.acquire("m:a"))).toBe("RFX_ENGINE");
    expect(scheduler.status()).toMatchObject({ running: 0, queued: 0, loading: [] });
  });

  it("passes unknown models through as RFX_MODEL_NOT_FOUND", async () => {
    const { scheduler } = setup();
    expect(await codeOf(scheduler.acquire("nope:x"))).toBe("RFX_MODEL_NOT_FOUND");
    expect(scheduler.status().running).toBe(0);
  });

  it("loads embedding contexts separately from generation ones", async () => {
    const { engine, scheduler } = setup();
    await scheduler.run("m:a", { embedding: true }, (l) => l.model.embed(["hi"]));
    expect(engine.loads[0]).toMatchObject({ embedding: true, parallel: 1 });
    expect(scheduler.isLoaded("m:a", true)).toBe(true);
    expect(scheduler.isLoaded("m:a")).toBe(false);
  });

  it("unload() of a busy variant waits for its last request", async () => {
    const { engine, scheduler } = setup();
    engine.hold();
    const job = scheduler.run("m:a", {}, (l) => l.model.generate("x", { maxTokens: 1 }));
    await waitFor(() => engine.held() === 1);
    expect(await scheduler.unload("/models/m-a.gguf")).toBe(1);
    expect(scheduler.isLoaded("m:a")).toBe(true);
    engine.resume();
    await job;
    await waitFor(() => !scheduler.isLoaded("m:a"));
  });

  it("a variant replaced in the store (other weights, same name:tag) is reloaded once its running requests end", async () => {
    const { engine, scheduler } = setup({ parallel: 2 });
    const original = VARIANTS["m:a"];
    try {
      engine.hold();
      const old = scheduler.run("m:a", {}, (l) => l.model.generate("x", { maxTokens: 1 }).then(() => l.variant.path));
      await waitFor(() => engine.held() === 1);
      VARIANTS["m:a"] = { ...original, path: "/models/m-a-new.gguf" };
      expect(scheduler.fit(VARIANTS["m:a"])).not.toBe("loaded");
      // Arrives while the old weights still stream: waits for them instead of being answered by them.
      const next = scheduler.run("m:a", {}, (l) => l.model.generate("y", { maxTokens: 1 }).then(() => l.variant.path));
      await new Promise((r) => setTimeout(r, 30));
      expect(engine.loads.map((l) => l.path)).toEqual(["/models/m-a.gguf"]);
      engine.resume();
      expect(await old).toBe("/models/m-a.gguf");
      expect(await next).toBe("/models/m-a-new.gguf");
      expect(engine.loads.map((l) => l.path)).toEqual(["/models/m-a.gguf", "/models/m-a-new.gguf"]);
      expect(scheduler.status().variants.map((v) => v.path)).toEqual(["/models/m-a-new.gguf"]);
    } finally {
      VARIANTS["m:a"] = original;
    }
  });

  it("loads waiting for room do not wait on each other: more than maxLoadedVariants of them are served in turn", async () => {
    const { engine, scheduler } = setup({ maxLoadedVariants: 1 });
    engine.hold();
    const busy = scheduler.run("m:a", {}, (l) => l.model.generate("x", { maxTokens: 1 }));
    await waitFor(() => engine.held() === 1);
    // Two loads wait for m:a's room; each used to count the other as a load that would free something.
    const waiting = ["m:b", "m:c", "big:f16"].map((ref) =>
      scheduler.run(ref, {}, (l) => l.model.generate("y", { maxTokens: 1 }).then(() => l.key)),
    );
    await new Promise((r) => setTimeout(r, 30));
    engine.resume();
    await busy;
    expect((await Promise.all(waiting)).sort()).toEqual(["big:f16", "m:b", "m:c"]);
    expect(scheduler.status().loading).toEqual([]);
  });

  it("a request handed a loaded entry keeps it, even when a request for replaced weights arrives in the same turn", async () => {
    const { engine, scheduler } = setup();
    await scheduler.load("m:a");
    const old = VARIANTS["m:a"];
    const replaced = { ...old, path: "/models/m-a-new.gguf" };
    const first = scheduler.acquire("m:a", { variant: old });
    const second = scheduler.acquire("m:a", { variant: replaced });
    const lease = await first;
    // Was disposed under it: "model disposed" (503 "has been unloaded" through HTTP).
    expect((await lease.model.generate("x", { maxTokens: 2 })).completionTokens).toBe(2);
    expect(engine.disposed).toEqual([]);
    lease.release();
    const next = await second;
    expect(next.variant.path).toBe(replaced.path);
    next.release();
    expect(engine.disposed).toEqual([old.path]);
  });

  it("a request for replaced weights is not handed the load of the old file still in progress", async () => {
    const { engine, scheduler } = setup({}, { loadDelayMs: 40 });
    const old = VARIANTS["m:a"];
    const replaced = { ...old, path: "/models/m-a-new.gguf" };
    const first = scheduler.run("m:a", { variant: old }, (l) => Promise.resolve(l.variant.path));
    await new Promise((r) => setTimeout(r, 10));
    const second = scheduler.run("m:a", { variant: replaced }, (l) => Promise.resolve(l.variant.path));
    expect(await first).toBe(old.path);
    expect(await second).toBe(replaced.path);
    expect(engine.loads.map((l) => l.path)).toEqual([old.path, replaced.path]);
  });

  it("a remote variant whose spec was replaced (same remote:// path, new digest) is reloaded once its requests end", async () => {
    const engine = createFakeEngine();
    const models = new Map(
      await Promise.all(
        ["d1", "d2"].map(async (d) => [d, await engine.loadModel({ path: `remote://r:f16@${d}` })] as const),
      ),
    );
    const loads: string[] = [];
    const { scheduler } = setup({
      remote: {
        parallelOf: () => 2,
        load: (v) => {
          loads.push(v.digest);
          return models.get(v.digest)!;
        },
      },
    });
    const spec = { endpoints: ["http://127.0.0.1:9/v1"], upstreamModel: "u" };
    const variant = (digest: string): SchedulableVariant => ({
      name: "r",
      tag: "f16",
      quantization: "f16",
      path: "remote://r:f16",
      sizeBytes: 0,
      remote: spec,
      manifest: { digest },
    });
    engine.hold();
    const old = scheduler.run("r:f16", { variant: variant("d1") }, (l) =>
      l.model.generate("x", { maxTokens: 1 }).then(() => l.model.path),
    );
    await waitFor(() => engine.held() === 1);
    const next = scheduler.run("r:f16", { variant: variant("d2") }, (l) => Promise.resolve(l.model.path));
    await new Promise((r) => setTimeout(r, 30));
    expect(loads).toEqual(["d1"]);
    engine.resume();
    expect(await old).toBe("remote://r:f16@d1");
    expect(await next).toBe("remote://r:f16@d2");
    expect(loads).toEqual(["d1", "d2"]);
  });

  it("unload() of a variant still loading waits for the load, then unloads it once its requests end", async () => {
    const { engine, scheduler } = setup({}, { loadDelayMs: 40 });
    const job = scheduler.run("m:a", {}, (l) => l.model.generate("x", { maxTokens: 2 }));
    await new Promise((r) => setTimeout(r, 10));
    expect(scheduler.status().loading).toEqual(["m:a"]);
    expect(await scheduler.unload("m:a")).toBe(1);
    expect((await job).completionTokens).toBe(2);
    await waitFor(() => !scheduler.isLoaded("m:a"), "m:a unloaded");
    expect(engine.disposed).toEqual(["/models/m-a.gguf"]);
  });

  it("drain() refuses new requests, finishes running and queued ones, then unloads", async () => {
    const { engine, scheduler } = setup({ parallel: 1 });
    engine.hold();
    const jobs = [0, 1].map(() => scheduler.run("m:a", {}, (l) => l.model.generate("x", { maxTokens: 3 })));
    await waitFor(() => scheduler.status().queued === 1);
    const drained = scheduler.drain();
    expect(await codeOf(scheduler.acquire("m:a"))).toBe("RFX_NOT_READY");
    engine.resume();
    const results = await Promise.all(jobs);
    await drained;
    expect(results.map((r) => r.completionTokens)).toEqual([3, 3]);
    expect(scheduler.status().variants).toEqual([]);
    expect(engine.disposed).toEqual(["/models/m-a.gguf"]);
  });

  it("defaultParallel picks two sequences per core within [4, 16]", () => {
    expect(defaultParallel(1)).toBe(4);
    expect(defaultParallel(2)).toBe(4);
    expect(defaultParallel(4)).toBe(8);
    expect(defaultParallel(64)).toBe(16);
    expect(defaultParallel(Number.NaN)).toBe(4);
  });
});
