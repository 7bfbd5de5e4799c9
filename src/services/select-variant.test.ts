// The variant selector over a real store: a remote variant whose endpoints are all ejected is left out of an untagged
// request's choice (a local variant answers instead of a 503), and the detail says so; a pinned one stays pinned.
// Under memory pressure a variant that fits only once busy variants finish is chosen (the scheduler waits for them)
// rather than refused, over HTTP too; one that could never fit is still refused at once.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/index.ts";
import { createMemoryMonitor, type MemoryMonitor, type MemorySample } from "../memory/index.ts";
import { createModelStore, type ModelStore } from "../registry/index.ts";
import type { Scheduler } from "../scheduler/index.ts";
import { createFakeEngine } from "../../test/support/fake-engine.ts";
import { buildTestApp, createTinyHome, testConfig, TINY, waitFor } from "../../test/support/server-fixture.ts";
import { createVariantSelector, type SelectableVariant } from "./select-variant.ts";

const COMPLEX =
  "Prove rigorously that the eigenvalues of a Hermitian matrix are real, derive the complexity of the QR algorithm " +
  "with Householder reflections, analyze its numerical stability and implement it in Rust with unit tests.";

let home: string;
let store: ModelStore;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "rfx-select-"));
  store = createModelStore({ home });
  await store.synth({ shape: "tiny", quant: ["q4_0"], name: "mix", seed: 5 });
  await store.addRemote({
    name: "mix",
    tag: "f16",
    remote: { endpoints: ["http://127.0.0.1:9/v1"], upstreamModel: "up" },
  });
}, 60_000);
afterAll(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

function selector(remoteAvailable?: (v: SelectableVariant) => boolean) {
  const { config } = loadConfig({ env: {}, overrides: { home } });
  const scheduler = {
    status: () => ({ variants: [], parallel: 1, estimatedLoadedVramBytes: 0 }),
  } as unknown as Pick<Scheduler, "status">;
  return createVariantSelector({ config, store, scheduler, remoteAvailable });
}

describe("a remote variant with every endpoint ejected", () => {
  it("is chosen for a complex prompt while it is available", async () => {
    const sel = await selector(() => true).select("mix", { messages: [{ role: "user", content: COMPLEX }] });
    expect(`${sel.variant.name}:${sel.variant.tag}`).toBe("mix:f16");
  });

  it("gives way to the local variant for an untagged request, and the detail says why", async () => {
    const sel = await selector((v) => !v.remote).select("mix", { messages: [{ role: "user", content: COMPLEX }] });
    expect(`${sel.variant.name}:${sel.variant.tag}`).toBe("mix:q4_0");
    expect(sel.detail).toContain("mix:f16 left out: every endpoint is ejected after failures");
    expect(sel.detail).toContain("q4_0 is the only variant that can serve now");
    expect(sel.detail).not.toContain("only stored variant");
  });

  it("stays the variant of a request that pins it", async () => {
    const sel = await selector((v) => !v.remote).select("mix:f16", { messages: [{ role: "user", content: "hi" }] });
    expect(sel).toMatchObject({ reason: "pinned", variant: { tag: "f16" } });
  });
});

// Under memory pressure a variant that fits only once busy variants finish is not refused: the selector passes it
// to the scheduler, which waits for them to go idle, evicts them and loads it (as Ollama queues such a request).
describe("a variant that fits only once busy variants finish", () => {
  const MiB = 2 ** 20;
  let busyHome: string;
  let busyStore: ModelStore;
  beforeAll(async () => {
    busyHome = await mkdtemp(join(tmpdir(), "rfx-select-busy-"));
    busyStore = createModelStore({ home: busyHome });
    await busyStore.synth({ shape: "tiny", quant: ["q4_0", "q8_0"], name: "sm", seed: 5 });
  }, 60_000);
  afterAll(async () => {
    if (busyHome) await rm(busyHome, { recursive: true, force: true });
  });

  /** Budget 600 MiB with 477 used (123 free); q8_0 needs 472 MiB, q4_0 250; `sm:q4_0` is loaded and holds 360. */
  function busySelector(
    q4: { running: number; queued: number },
    others: { estimatedBytes: number }[] = [],
    q8Bytes = 472 * MiB,
  ) {
    const { config } = loadConfig({ env: {}, overrides: { home: busyHome } });
    const sample = {
      budgetBytes: 600 * MiB,
      usedBytes: 477 * MiB,
      pressure: 477 / 600,
      freeBudgetBytes: 123 * MiB,
      gpu: null,
    } as unknown as MemorySample;
    const memory = { latest: () => sample, sample: () => sample } as unknown as MemoryMonitor;
    const variants = [
      { name: "sm", tag: "q4_0", embedding: false, estimatedBytes: 360 * MiB, vramBytes: 0, ...q4 },
      ...others.map((o, i) => ({
        name: `other${i}`,
        tag: "q4_0",
        embedding: false,
        vramBytes: 0,
        running: 0,
        queued: 0,
        ...o,
      })),
    ];
    const scheduler = {
      status: () => ({ variants, parallel: 1, estimatedLoadedVramBytes: 0 }),
    } as unknown as Pick<Scheduler, "status">;
    const estimates: Record<string, number> = { q4_0: 250 * MiB, q8_0: q8Bytes };
    const resolveVariant = async (ref: string): Promise<SelectableVariant> => {
      const r = await busyStore.resolve(ref);
      return { ...r, estimatedBytes: estimates[r.tag] };
    };
    return createVariantSelector({ config, store: busyStore, scheduler, memory, resolveVariant });
  }

  it("a pinned request for it waits for the busy variant instead of an immediate RFX_MEMORY_BUDGET", async () => {
    const sel = await busySelector({ running: 1, queued: 0 }, [{ estimatedBytes: 18 * MiB }]).select("sm:q8_0", {
      prompt: "hi",
    });
    expect(sel).toMatchObject({ reason: "pinned", pinned: true, variant: { name: "sm", tag: "q8_0" } });
    expect(sel.detail).toContain("waits for busy variants to finish");
    expect(sel.detail).toContain("free budget 123 MiB + 18 MiB evictable + 360 MiB held by busy variants");
  });

  it("a queued request on a variant makes it busy too", async () => {
    const sel = await busySelector({ running: 0, queued: 2 }).select("sm:q8_0", { prompt: "hi" });
    expect(sel.variant.tag).toBe("q8_0");
    expect(sel.detail).toContain("waits for busy variants to finish");
  });

  it("is still refused at once when it cannot fit even once the busy variants finish", async () => {
    // 123 MiB free + 360 MiB busy: a q8_0 of 500 MiB could never be made room for while the rest holds its share.
    const sel = busySelector({ running: 1, queued: 0 }, [], 500 * MiB);
    const err = await sel.select("sm:q8_0", { prompt: "hi" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "RFX_MEMORY_BUDGET" });
    expect((err as Error).message).toContain(
      "q8_0 needs 500 MiB, more than can be made free within the budget (free budget 123 MiB + 360 MiB held by busy variants",
    );
  });

  it("an untagged request takes a variant that fits now over waiting for a better one", async () => {
    // A complex prompt targets q8_0; q4_0 is loaded (busy): it serves at once rather than waiting to load q8_0.
    const sel = await busySelector({ running: 1, queued: 0 }).select("sm", {
      messages: [{ role: "user", content: COMPLEX }],
    });
    expect(sel.variant.tag).toBe("q4_0");
    expect(sel.detail).not.toContain("waits for busy variants");
  });
});

describe("over HTTP, with the scheduler and a memory budget that holds one variant at a time", () => {
  it("a pinned request for a second variant waits while the first is busy, then is served", async () => {
    const own = await createTinyHome(["q4_0", "q8_0"]);
    let app: Awaited<ReturnType<typeof buildTestApp>>["app"] | undefined;
    try {
      const e4 = (await own.store.show(`${TINY}:q4_0`)).estimatedMemoryBytes;
      const e8 = (await own.store.show(`${TINY}:q8_0`)).estimatedMemoryBytes;
      // Either variant fits alone; both together do not. What is used is what the scheduler holds (no baseline).
      const budget = e4 + e8 - 1;
      let used = (): number => 0;
      const real = createMemoryMonitor({ maxMemoryPercent: 80 });
      const sample = (): MemorySample => {
        const u = used();
        return {
          ...real.latest(),
          budgetBytes: budget,
          usedBytes: u,
          pressure: u / budget,
          freeBudgetBytes: Math.max(0, budget - u),
          gpu: null,
        };
      };
      const memory: MemoryMonitor = { ...real, sample, latest: sample, startSampling: () => {}, stop: () => {} };
      const engine = createFakeEngine();
      const built = await buildTestApp({
        store: own.store,
        engine,
        config: testConfig(own.home, { "scheduler.parallel": 1 }),
        memory,
      });
      app = built.app;
      const scheduler = built.services.scheduler;
      used = () => scheduler.status().estimatedLoadedBytes;
      const generate = (model: string) =>
        app!.inject({
          method: "POST",
          url: "/api/generate",
          payload: { model, prompt: "hello", stream: false, options: { temperature: 0, num_predict: 3 } },
        });

      engine.hold();
      const first = generate(`${TINY}:q4_0`);
      await waitFor(() => engine.held() === 1, "the q4_0 generation to be running");
      let settled = false;
      const second = generate(`${TINY}:q8_0`).finally(() => (settled = true));
      // The q8_0 load waits for room (q4_0 is busy) instead of the request being refused.
      await waitFor(() => settled || scheduler.status().loading.includes(`${TINY}:q8_0`), "the q8_0 load to wait");
      if (settled) expect.fail(`the q8_0 request did not wait: ${(await second).statusCode} ${(await second).body}`);
      await new Promise((r) => setTimeout(r, 50));
      expect(settled).toBe(false);
      expect(engine.loads.map((l) => l.path)).toEqual([(await own.store.resolve(`${TINY}:q4_0`)).path]);

      engine.resume();
      const [a, b] = await Promise.all([first, second]);
      expect(a.statusCode).toBe(200);
      expect(b.statusCode).toBe(200);
      expect(b.headers["x-reflexia-variant"]).toBe(`${TINY}:q8_0`);
      expect(b.json()).toMatchObject({ done: true, eval_count: 3 });
      // q4_0 was evicted once idle to make room for q8_0.
      expect(engine.disposed).toEqual([(await own.store.resolve(`${TINY}:q4_0`)).path]);
      expect(scheduler.status().variants.map((v) => v.tag)).toEqual(["q8_0"]);
    } finally {
      await app?.close();
      await own.cleanup();
    }
  }, 60_000);
});
