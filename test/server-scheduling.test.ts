// Scheduling over real sockets: 16 concurrent streams on parallel 4, queue-full 503 + Retry-After, and a
// client disconnect freeing its sequence — each asserted through /api/status and /metrics.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createFakeEngine, type FakeEngine } from "./support/fake-engine.ts";
import {
  buildTestApp,
  createTinyHome,
  testConfig,
  TINY,
  waitFor,
  type TestApp,
  type TinyHome,
  errorOf,
} from "./support/server-fixture.ts";

let home: TinyHome;
let current: { t: TestApp; base: string } | null = null;

beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
});
afterAll(async () => {
  await home?.cleanup();
});
afterEach(async () => {
  await current?.t.app.close();
  current = null;
});

async function start(engine: FakeEngine, overrides: Record<string, unknown>) {
  const t = await buildTestApp({ store: home.store, engine, config: testConfig(home.home, overrides) });
  const address = await t.app.listen({ port: 0, host: "127.0.0.1" });
  current = { t, base: address };
  return current;
}

async function status(base: string) {
  return (await (await fetch(`${base}/api/status`)).json()) as {
    queue: { running: number; queued: number; peak_running: number; peak_queued: number };
    active_sequences: number;
  };
}

function streamChat(base: string, content: string, signal?: AbortSignal) {
  return fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: TINY, messages: [{ role: "user", content }], max_tokens: 6, stream: true }),
    signal,
  });
}

describe("scheduling over HTTP", () => {
  it("16 concurrent streamed requests on parallel 4: all complete, at most 4 decode at once, the rest queue", async () => {
    const engine = createFakeEngine();
    const { base, t } = await start(engine, { "scheduler.parallel": 4, "scheduler.queue_size": 16 });
    engine.hold();
    const responses = Array.from({ length: 16 }, (_, i) => streamChat(base, `request ${i}`).then((r) => r.text()));
    await waitFor(async () => {
      const s = await status(base);
      return s.queue.running === 4 && s.queue.queued === 12;
    }, "4 running + 12 queued");
    const mid = await status(base);
    expect(mid.active_sequences).toBe(4);
    const scrape = await t.services.metrics.registry.metrics();
    expect(scrape).toMatch(/^reflexia_requests_running 4$/m);
    expect(scrape).toMatch(/^reflexia_requests_queued 12$/m);
    engine.resume();
    const bodies = await Promise.all(responses);
    for (const b of bodies) {
      expect(b.trim().endsWith("data: [DONE]")).toBe(true);
      expect(b).toContain('"finish_reason":"length"');
    }
    const end = await status(base);
    expect(end.queue).toMatchObject({ running: 0, queued: 0, peak_running: 4, peak_queued: 12 });
    expect(engine.peakConcurrent).toBe(4);
  });

  it("with the queue full the next request gets 503 RFX_QUEUE_FULL with Retry-After", async () => {
    const engine = createFakeEngine();
    const { base, t } = await start(engine, { "scheduler.parallel": 1, "scheduler.queue_size": 2 });
    engine.hold();
    const accepted = [0, 1, 2].map((i) => streamChat(base, `r${i}`).then((r) => r.text()));
    await waitFor(async () => (await status(base)).queue.queued === 2, "queue full");
    const rejected = await fetch(`${base}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: TINY, messages: [{ role: "user", content: "one more" }] }),
    });
    expect(rejected.status).toBe(503);
    expect(Number(rejected.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(errorOf(await rejected.json()).code).toBe("RFX_QUEUE_FULL");
    engine.resume();
    await Promise.all(accepted);
    const scrape = await t.services.metrics.registry.metrics();
    expect(scrape).toContain('reflexia_requests_rejected_total{reason="queue_full"} 1');
    expect(scrape).toContain('reflexia_http_requests_total{method="POST",endpoint="/api/chat",status="503"} 1');
  });

  it("a client that disconnects mid-stream frees its sequence for the queued request", async () => {
    const engine = createFakeEngine({ tokenDelayMs: 5 });
    const { base } = await start(engine, { "scheduler.parallel": 1, "scheduler.queue_size": 4 });
    const ac = new AbortController();
    const res = await fetch(`${base}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: TINY, prompt: "long", options: { num_predict: 1000 } }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read(); // the first NDJSON line: generation is running
    const queued = fetch(`${base}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: TINY, prompt: "next", stream: false, options: { num_predict: 2 } }),
    });
    await waitFor(async () => (await status(base)).queue.queued === 1, "second request queued");
    ac.abort();
    const next = (await (await queued).json()) as { done: boolean; eval_count: number };
    expect(next).toMatchObject({ done: true, eval_count: 2 });
    await waitFor(async () => {
      const s = await status(base);
      return s.queue.running === 0 && s.active_sequences === 0;
    }, "sequence freed");
    expect(engine.running()).toBe(0);
  });

  it("a client that disconnects while queued leaves the queue", async () => {
    const engine = createFakeEngine();
    const { base } = await start(engine, { "scheduler.parallel": 1, "scheduler.queue_size": 4 });
    engine.hold();
    const first = streamChat(base, "first").then((r) => r.text());
    await waitFor(async () => (await status(base)).queue.running === 1, "first running");
    const ac = new AbortController();
    const second = streamChat(base, "second", ac.signal).catch((e: Error) => e.name);
    await waitFor(async () => (await status(base)).queue.queued === 1, "second queued");
    ac.abort();
    expect(await second).toBe("AbortError");
    await waitFor(async () => (await status(base)).queue.queued === 0, "queue empty");
    engine.resume();
    await first;
  });
});
