// Per-key quotas at the HTTP edge (app.inject over the production wiring with the fake engine): a request quota is
// reserved at admission, so concurrent requests cannot pass it together; refused, invalid and model-free requests
// do not use it; the usage log still gets one line per request.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeAccessOf } from "../src/http/index.ts";
import { createFakeEngine } from "./support/fake-engine.ts";
import { buildTestApp, createTinyHome, errorOf, testConfig, TINY, type TinyHome } from "./support/server-fixture.ts";

let home: TinyHome;
beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
});
afterAll(async () => {
  await home?.cleanup();
});

// Bare keys are named by position: alice is key-1, bob key-2.
const ALICE = { authorization: "Bearer alice-secret" };
const BOB = { authorization: "Bearer bob-secret" };

async function appWithQuota(quota: Record<string, unknown>) {
  const { app, services } = await buildTestApp({
    store: home.store,
    engine: createFakeEngine(),
    config: testConfig(home.home, {
      "scheduler.parallel": 4,
      "auth.enabled": true,
      "auth.api_key": "alice-secret",
      "auth.quotas": [{ key: "key-2", window_seconds: 3600, ...quota }],
    }),
    apiKeys: ["alice-secret", "bob-secret"],
  });
  const logLines = (): string[] => {
    try {
      return readFileSync(services.usage.logPath, "utf8").trim().split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  return { app, logLines };
}

const chat = (content = "hello") => ({
  method: "POST" as const,
  url: "/v1/chat/completions",
  headers: BOB,
  payload: { model: TINY, messages: [{ role: "user", content }], max_tokens: 4 },
});

describe("per-key quotas over HTTP", () => {
  it("8 concurrent requests against a request quota of 3: exactly 3 run, 5 get 429, every one is logged", async () => {
    const { app, logLines } = await appWithQuota({ requests: 3 });
    const before = logLines().length;
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => app.inject(chat(`question ${i}`))));
    const statuses = replies.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
    for (const r of replies.filter((x) => x.statusCode === 429)) {
      expect(errorOf(r.json()).code).toBe("RFX_QUOTA_EXCEEDED");
      expect(errorOf(r.json()).message).toContain("used 3 of 3 requests");
      expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
    }
    // The refusals did not count: the next one still reads 3 of 3.
    const next = await app.inject(chat());
    expect(next.statusCode).toBe(429);
    expect(errorOf(next.json()).message).toContain("used 3 of 3 requests");
    // Another key is not limited by bob's quota.
    expect((await app.inject({ ...chat(), headers: ALICE })).statusCode).toBe(200);
    // The usage log still has one line per request, refused ones included.
    const lines = logLines()
      .slice(before)
      .map((l) => JSON.parse(l) as { key: string; status: number });
    expect(lines.filter((l) => l.key === "key-2").map((l) => l.status)).toHaveLength(9);
    expect(lines.filter((l) => l.key === "key-2" && l.status === 429)).toHaveLength(6);
    await app.close();
  });

  it("requests that run no model, fail validation or are refused do not use the quota", async () => {
    const { app } = await appWithQuota({ requests: 2 });
    for (const url of ["/api/tags", "/api/status", "/v1/models", "/api/ps"])
      expect((await app.inject({ url, headers: BOB })).statusCode).toBe(200);
    // Invalid before any model runs: a schema failure, a model that does not exist, on two API families.
    expect((await app.inject({ ...chat(), payload: { model: TINY } })).statusCode).toBe(400);
    expect(
      (await app.inject({ ...chat(), payload: { model: "nope", messages: [{ role: "user", content: "hi" }] } }))
        .statusCode,
    ).toBe(404);
    expect(
      (await app.inject({ method: "POST", url: "/api/chat", headers: BOB, payload: { model: "nope" } })).statusCode,
    ).toBe(404);
    expect((await app.inject(chat())).statusCode).toBe(200);
    const generate = { model: TINY, prompt: "hi", stream: false, options: { num_predict: 3 } };
    expect(
      (await app.inject({ method: "POST", url: "/api/generate", headers: BOB, payload: generate })).statusCode,
    ).toBe(200);
    for (let i = 0; i < 2; i++) {
      const refused = await app.inject(chat());
      expect(refused.statusCode).toBe(429);
      expect(errorOf(refused.json()).message).toContain("used 2 of 2 requests");
    }
    // Past the quota, what runs no model still answers.
    expect((await app.inject({ url: "/api/tags", headers: BOB })).statusCode).toBe(200);
    await app.close();
  });

  it("a token quota counts the tokens the responses report and then refuses", async () => {
    const { app } = await appWithQuota({ tokens: 1 });
    const first = await app.inject(chat());
    expect(first.statusCode).toBe(200);
    const used = (first.json() as { usage: { total_tokens: number } }).usage.total_tokens;
    const refused = await app.inject(chat());
    expect(refused.statusCode).toBe(429);
    expect(errorOf(refused.json()).message).toContain(`used ${used} of 1 tokens`);
    await app.close();
  });

  it("embedding tokens count as the responses report them, in the log and against a token quota", async () => {
    const { app, logLines } = await appWithQuota({ tokens: 1 });
    const embed = await app.inject({
      method: "POST",
      url: "/v1/embeddings",
      headers: BOB,
      payload: { model: TINY, input: ["some words to embed", "more"] },
    });
    expect(embed.statusCode).toBe(200);
    const used = (embed.json() as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
    expect(used).toBeGreaterThan(0);
    expect(JSON.parse(logLines().at(-1)!)).toMatchObject({ prompt_tokens: used, completion_tokens: 0 });
    const refused = await app.inject({
      method: "POST",
      url: "/api/embed",
      headers: BOB,
      payload: { model: TINY, input: "x" },
    });
    expect(refused.statusCode).toBe(429);
    expect(errorOf(refused.json()).message).toContain(`used ${used} of 1 tokens`);
    await app.close();
  });

  it("the routes a quota counts are the ones that run a model, by each route's own flag", async () => {
    const { app } = await buildTestApp({
      store: home.store,
      engine: createFakeEngine(),
      config: testConfig(home.home),
      rag: true,
    });
    await app.ready();
    const counted = routeAccessOf(app)
      .filter((r) => r.runsModel)
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    expect(counted).toEqual(
      // (POST /api/benchmarks is flagged too; its routes exist only beside the server's benchmark jobs.)
      [
        "POST /api/chat",
        "POST /api/documents",
        "POST /api/embed",
        "POST /api/embeddings",
        "POST /api/generate",
        "POST /api/rag/query",
        "POST /api/upload",
        "POST /v1/chat/completions",
        "POST /v1/completions",
        "POST /v1/embeddings",
        "POST /v1/responses",
      ].sort(),
    );
    await app.close();
  });
});
