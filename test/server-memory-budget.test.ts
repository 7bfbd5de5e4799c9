// The memory budget end to end: MAX_MEMORY_PERCENT set so that only the smallest variant fits; every request
// (simple or complex) is served by it, process RSS sampled throughout stays under the budget, and a pinned
// variant that cannot fit gets 503 RFX_MEMORY_BUDGET.
// Tiny variants differ by under 2 MiB, below RSS noise, so this test uses the `small` shape (206 M params),
// whose q5_k_m and f16 variants differ by ~256 MiB at a 2048-token context.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.ts";
import { startServer, type RunningServer } from "../src/main.ts";
import { createModelStore, type ModelStore } from "../src/registry/index.ts";

const MiB = 2 ** 20;
const CONTEXT = 2048;
let home: string;
let store: ModelStore;
let server: RunningServer;
let budgetBytes = 0;
const rssSamples: number[] = [];
let sampler: NodeJS.Timeout | undefined;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "rfx-budget-"));
  store = createModelStore({ home, contextSize: CONTEXT, defaultQuantization: "q4_0" });
  await store.synth({ shape: "small", quant: ["q5_k_m", "f16"], name: "small", seed: 3 });
  await store.synth({ shape: "tiny", quant: ["q4_0"], name: "warm", seed: 3 });
  const est = async (ref: string) => (await store.show(ref)).estimatedMemoryBytes;
  const q5 = await est("small:q5_k_m");
  const f16 = await est("small:f16");
  expect(f16 - q5).toBeGreaterThan(200 * MiB);

  // First a server without a budget that only loads the tiny "warm" model: the engine's native libraries are
  // then resident, so the RSS measured next is the baseline a variant load adds to.
  const base = {
    home,
    "models.default": "warm",
    "server.host": "127.0.0.1",
    "server.port": 0,
    "server.metrics_port": 0,
    "scheduler.parallel": 1,
    "models.context_size": CONTEXT,
  };
  const warm = await startServer({
    loaded: loadConfig({ env: {}, overrides: base }),
    store,
    logger: false,
    webDir: null,
  });
  await warm.ready;
  await warm.close();

  // Budget = current use + room for q5_k_m with 40 % headroom; f16 (and q5_k_m + f16) cannot fit.
  const used = process.memoryUsage.rss();
  budgetBytes = used + Math.round(q5 * 1.4);
  expect(budgetBytes).toBeLessThan(used + f16);
  const total = (await import("node:os")).totalmem();
  const percent = (budgetBytes / total) * 100;
  server = await startServer({
    loaded: loadConfig({ env: {}, overrides: { ...base, "memory.max_memory_percent": percent } }),
    store,
    logger: false,
    webDir: null,
  });
  await server.ready;
  budgetBytes = server.services.memory!.latest().budgetBytes;
  sampler = setInterval(() => rssSamples.push(process.memoryUsage.rss()), 20);
}, 300_000);

afterAll(async () => {
  if (sampler) clearInterval(sampler);
  await server?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

async function generate(model: string, prompt: string) {
  const res = await fetch(`${server.url}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, prompt, stream: false, options: { num_predict: 8 } }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe("memory budget (MAX_MEMORY_PERCENT) on the small family", () => {
  it("refuses a pinned variant that cannot fit with 503 RFX_MEMORY_BUDGET", async () => {
    const r = await generate("small:f16", "hello");
    expect(r.status).toBe(503);
    // /api/generate answers in Ollama's shape: {error: "message", code}.
    expect(r.body.code).toBe("RFX_MEMORY_BUDGET");
    expect(r.body.error).toContain("f16");
    expect(server.services.scheduler.isLoaded("small:f16")).toBe(false);
  });

  it("serves simple and complex prompts with the only variant that fits, under the budget", async () => {
    const prompts = [
      "Hi! How are you today?",
      "Prove that for every integer n ≥ 1, $\\sum_{k=1}^{n} k^3 = \\left(\\frac{n(n+1)}{2}\\right)^2$ using induction, then implement it in TypeScript:\n```ts\nfunction sumCubes(n: number): number { /* ... */ }\n```",
      "What's the capital of Australia?",
    ];
    const served: string[] = [];
    for (const p of prompts) {
      const r = await generate("small", p);
      expect(r.status).toBe(200);
      served.push(r.body.reflexia.quantization);
    }
    expect(served).toEqual(["q5_k_m", "q5_k_m", "q5_k_m"]);
    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    // The complex prompt wanted f16 (its level's target) and was lowered for memory.
    expect(metrics).toMatch(
      /^reflexia_quantization_decisions_total\{quantization="q5_k_m",reason="memory_pressure_downgrade"\} 1$/m,
    );
    expect(metrics).toMatch(/^reflexia_memory_usage_bytes \d+/m);
    expect(rssSamples.length).toBeGreaterThan(5);
    expect(Math.max(...rssSamples)).toBeLessThan(budgetBytes);
    const st = (await (await fetch(`${server.url}/api/status`)).json()) as {
      memory: { budget_bytes: number; used_bytes: number };
    };
    expect(st.memory.used_bytes).toBeLessThan(st.memory.budget_bytes);
  });
});
