// Adaptive quantization and the response cache on the real server and engine, tiny model family: a simple and a
// complex prompt get different variants (field, header, metrics), pinning and ENABLE_ADAPTIVE_QUANTIZATION=false
// are honoured, and repeated deterministic requests are cache hits for streamed and buffered clients.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.ts";
import { startServer, type RunningServer } from "../src/main.ts";
import { createTinyHome, parseNdjson, TINY, type TinyHome } from "./support/server-fixture.ts";

const SIMPLE = "Hi! How are you today?";
const COMPLEX =
  "Implement a thread-safe LRU cache in TypeScript with O(1) get/put, then prove its amortized complexity:\n```ts\nclass LRU<K, V> { get(k: K): V | undefined { /* TODO */ } }\n```\nDerive $T(n) = \\sum_{i=1}^{n} O(1) = O(n)$ and explain the invariants, edge cases and a benchmark plan.";

let home: TinyHome;
beforeAll(async () => {
  home = await createTinyHome(["q4_0", "q8_0", "f16"]);
});
afterAll(async () => {
  await home?.cleanup();
});

async function start(overrides: Record<string, unknown> = {}): Promise<RunningServer> {
  const loaded = loadConfig({
    env: {},
    overrides: {
      home: home.home,
      "models.default": TINY,
      "server.host": "127.0.0.1",
      "server.port": 0,
      "server.metrics_port": 0,
      "scheduler.parallel": 2,
      "models.context_size": 1024,
      ...overrides,
    },
  });
  const server = await startServer({ loaded, store: home.store, logger: false, webDir: null });
  await server.ready;
  return server;
}

async function chat(server: RunningServer, model: string, content: string, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content }], max_tokens: 4, ...extra }),
  });
  return {
    status: res.status,
    header: res.headers.get("x-reflexia-quantization"),
    body: (await res.json()) as Record<string, any>,
  };
}

describe("adaptive quantization on the tiny family", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("serves a simple prompt with q4_0 and a complex code/math prompt with q8_0, and says why", async () => {
    const simple = await chat(server, TINY, SIMPLE);
    expect(simple.status).toBe(200);
    expect(simple.header).toBe("q4_0");
    expect(simple.body.reflexia).toMatchObject({
      quantization: "q4_0",
      reason: "complexity_low",
      complexity: { level: "low" },
    });
    expect(typeof simple.body.reflexia.memory_pressure).toBe("number");

    const complex = await chat(server, TINY, COMPLEX);
    expect(complex.header).toBe("q8_0");
    expect(complex.body.reflexia).toMatchObject({
      quantization: "q8_0",
      reason: "complexity_high",
      complexity: { level: "high" },
    });
    expect(complex.body.reflexia.complexity.score).toBeGreaterThan(simple.body.reflexia.complexity.score);
    expect(complex.body.reflexia.detail).toContain("q8_0");

    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /^reflexia_quantization_decisions_total\{quantization="q4_0",reason="complexity_low"\} [1-9]/m,
    );
    expect(metrics).toMatch(
      /^reflexia_quantization_decisions_total\{quantization="q8_0",reason="complexity_high"\} 1$/m,
    );
    expect(metrics).toMatch(
      /^reflexia_quantization_switches_total\{from="q4_0",to="q8_0",reason="complexity_high"\} 1$/m,
    );
  });

  it("a pinned name:tag is served by exactly that variant", async () => {
    const r = await chat(server, `${TINY}:f16`, COMPLEX);
    expect(r.header).toBe("f16");
    expect(r.body.reflexia).toMatchObject({ quantization: "f16", reason: "pinned" });
  });

  it("a repeated deterministic request is a cache hit for buffered and streamed clients", async () => {
    const det = { temperature: 0, max_tokens: 6 };
    const first = await chat(server, TINY, "Name a colour.", det);
    const again = await chat(server, TINY, "Name a colour.", det);
    expect(first.body.reflexia.cache).toBe("miss");
    expect(again.body.reflexia.cache).toBe("hit");
    expect(again.body.choices[0].message.content).toBe(first.body.choices[0].message.content);
    // The same request through Ollama's streamed chat: a different endpoint but the same cache key.
    const streamed = await fetch(`${server.url}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: TINY,
        messages: [{ role: "user", content: "Name a colour." }],
        options: { temperature: 0, num_predict: 6 },
      }),
    });
    const lines = parseNdjson(await streamed.text());
    const text = lines
      .filter((l) => !l.done)
      .map((l) => (l.message as { content: string }).content)
      .join("");
    expect((lines.at(-1)!.reflexia as { cache: string }).cache).toBe("hit");
    expect(text).toBe(first.body.choices[0].message.content);
    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    expect(Number(/^reflexia_cache_hits_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    const st = (await (await fetch(`${server.url}/api/status`)).json()) as {
      cache: { size: number; hit_rate: number };
    };
    expect(st.cache.size).toBeGreaterThanOrEqual(1);
    expect(st.cache.hit_rate).toBeGreaterThan(0);
    // Sampling with temperature > 0 and no seed is never served from the cache.
    expect((await chat(server, TINY, "Name a colour.", { temperature: 0.9, max_tokens: 6 })).body.reflexia.cache).toBe(
      "bypass",
    );
  });
  it("an /api/generate answered from a chat's cache entry still returns its context (token ids)", async () => {
    const opts = { num_predict: 3, temperature: 0 };
    const post = async (path: string, body: Record<string, unknown>) =>
      (await (
        await fetch(`${server.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: `${TINY}:q4_0`, stream: false, options: opts, ...body }),
        })
      ).json()) as Record<string, any>;
    const viaChat = await post("/api/chat", { messages: [{ role: "user", content: "Name a fruit." }] });
    expect(viaChat.reflexia.cache).toBe("miss");
    const gen = await post("/api/generate", { prompt: "Name a fruit." });
    expect(gen.response).toBe(viaChat.message.content);
    expect(Array.isArray(gen.context) && gen.context.length).toBeGreaterThan(0);
    const again = await post("/api/generate", { prompt: "Name a fruit." });
    expect(again.reflexia.cache).toBe("hit");
    expect(again.context).toEqual(gen.context);
  });
  it("a cache hit reports the messages the context policy dropped, as the miss did", async () => {
    const body = JSON.stringify({
      model: `${TINY}:q4_0`,
      stream: false,
      messages: [
        { role: "user", content: "one two three four five six seven eight nine ten eleven twelve" },
        { role: "assistant", content: "thirteen fourteen fifteen sixteen seventeen eighteen" },
        { role: "user", content: "go" },
      ],
      options: { num_predict: 3, temperature: 0, num_ctx: 40 },
    });
    const post = async () =>
      (await (
        await fetch(`${server.url}/api/chat`, { method: "POST", headers: { "content-type": "application/json" }, body })
      ).json()) as Record<string, any>;
    const miss = await post();
    expect(miss.reflexia.cache).toBe("miss");
    expect(miss.reflexia.context.dropped_messages).toBeGreaterThan(0);
    const hit = await post();
    expect(hit.reflexia.cache).toBe("hit");
    expect(hit.reflexia.context).toEqual(miss.reflexia.context);
  });
});

describe("ENABLE_ADAPTIVE_QUANTIZATION=false", () => {
  it("always uses the configured default quantization", async () => {
    const server = await start({ "adaptive.enabled": false, "models.default_quantization": "q8_0" });
    try {
      for (const prompt of [SIMPLE, COMPLEX]) {
        const r = await chat(server, TINY, prompt);
        expect(r.body.reflexia).toMatchObject({ quantization: "q8_0", reason: "adaptive_disabled" });
      }
    } finally {
      await server.close();
    }
  });
});
