// Remote variants through the HTTP routes, against a scripted OpenAI-compatible upstream on loopback and a port
// nothing listens on.
import { createServer, type Server } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTestApp,
  createTinyHome,
  errorOf,
  parseNdjson,
  parseSse,
  testConfig,
  TINY,
  type TestApp,
  type TinyHome,
} from "./support/server-fixture.ts";
import { createFakeEngine } from "./support/fake-engine.ts";

const COMPLEX =
  "Implement a thread-safe LRU cache in TypeScript with O(1) get/put, then prove its amortized complexity:\n```ts\nclass LRU<K, V> { get(k: K): V | undefined { /* TODO */ } }\n```\nDerive $T(n) = \\sum_{i=1}^{n} O(1) = O(n)$ and explain the invariants, edge cases and a benchmark plan.";

let home: TinyHome;
let t: TestApp;
let upstream: Server;
let up: string;
let dead: string;

/** An upstream that streams "Hel" "lo" for model "ok" and refuses model "refuse" with a 400. */
function startUpstream(): Promise<Server> {
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      if (req.url?.endsWith("/models")) return res.end(JSON.stringify({ data: [] }));
      const body = JSON.parse(raw) as { model: string };
      if (body.model === "refuse") {
        res.writeHead(400, { "content-type": "application/json" });
        return res.end(JSON.stringify({ error: { message: "no such thing" } }));
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const p of ["Hel", "lo"]) res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: p } }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: "stop" }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } })}\n\n`);
      res.end("data: [DONE]\n\n");
    });
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r(server)));
}

const portOf = (s: Server): number => (s.address() as { port: number }).port;

beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
  upstream = await startUpstream();
  up = `http://127.0.0.1:${portOf(upstream)}/v1`;
  const closed = await startUpstream();
  dead = `http://127.0.0.1:${portOf(closed)}/v1`;
  await new Promise((r) => closed.close(r));
  const add = (name: string, tag: string, url: string, upstreamModel = "ok") =>
    home.store.addRemote({ name, tag, remote: { endpoints: [url], upstreamModel } });
  await add("dead", "f16", dead);
  await add("bad", "f16", up, "refuse");
  await add("good", "f16", up);
  await add("gone", "f16", up);
  await add("rep", "f16", dead);
  // Its key is read from a variable this server's environment lacks.
  await home.store.addRemote({
    name: "keyless",
    tag: "f16",
    remote: { endpoints: [up], upstreamModel: "ok", apiKeyEnv: "REFLEXIA_UPSTREAM_TEST_NEVER_SET" },
  });
  // The tiny family: local q4_0, remote f16 on the dead port.
  await add(TINY, "f16", dead);
  t = await buildTestApp({ store: home.store, engine: createFakeEngine(), config: testConfig(home.home) });
}, 60_000);

afterAll(async () => {
  await t?.app.close();
  t?.services.remote.close();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
  await home?.cleanup();
});

const post = (url: string, payload: Record<string, unknown>) => t.app.inject({ method: "POST", url, payload });
const messages = [{ role: "user", content: "hi" }];

describe("a streamed request to a remote variant that fails before its first piece", () => {
  it("gets 503 RFX_UPSTREAM_UNAVAILABLE with Retry-After when no endpoint is left (OpenAI, Responses, Ollama)", async () => {
    for (const [url, payload] of [
      ["/v1/chat/completions", { model: "dead:f16", messages, stream: true }],
      ["/v1/completions", { model: "dead:f16", prompt: "hi", stream: true }],
      ["/v1/responses", { model: "dead:f16", input: "hi", stream: true }],
    ] as const) {
      const res = await post(url, payload);
      expect(res.statusCode, url).toBe(503);
      expect(res.headers["retry-after"], url).toMatch(/^\d+$/);
      expect(res.headers["content-type"], url).toMatch(/application\/json/);
      expect(errorOf(res.json()), url).toMatchObject({ code: "RFX_UPSTREAM_UNAVAILABLE", ollama: false });
    }
    for (const [url, payload] of [
      ["/api/chat", { model: "dead:f16", messages }],
      ["/api/generate", { model: "dead:f16", prompt: "hi" }],
    ] as const) {
      const res = await post(url, payload);
      expect(res.statusCode, url).toBe(503);
      expect(res.headers["retry-after"], url).toMatch(/^\d+$/);
      // Ollama's shape: the message as a string.
      expect(errorOf(res.json()), url).toMatchObject({ ollama: true });
      expect(errorOf(res.json()).message, url).toMatch(/no healthy endpoint of dead/);
    }
  });

  it("is an APIError with status 503 to the openai SDK (so its retry logic applies)", async () => {
    const url = await t.app.listen({ host: "127.0.0.1", port: 0 });
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "none", maxRetries: 0 });
    const failed = openai.chat.completions.create({
      model: "dead:f16",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    await expect(failed).rejects.toMatchObject({ status: 503, code: "RFX_UPSTREAM_UNAVAILABLE" });
  });

  it("gets 502 RFX_UPSTREAM_ERROR when the upstream refuses it", async () => {
    const res = await post("/v1/chat/completions", { model: "bad:f16", messages, stream: true });
    expect(res.statusCode).toBe(502);
    expect(errorOf(res.json())).toMatchObject({ code: "RFX_UPSTREAM_ERROR" });
    const ollama = await post("/api/chat", { model: "bad:f16", messages });
    expect(ollama.statusCode).toBe(502);
    expect(errorOf(ollama.json()).message).toMatch(/no such thing/);
  });

  it("streams as before when the upstream answers: role chunk, pieces, [DONE]", async () => {
    const res = await post("/v1/chat/completions", { model: "good:f16", messages, stream: true });
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-reflexia-variant"]).toBe("good:f16");
    const events = parseSse(res.body) as any[];
    expect(events[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    expect(events.map((e) => e.choices?.[0]?.delta?.content ?? "").join("")).toBe("Hello");
    expect(events.at(-1)).toBe("[DONE]");
    const ollama = await post("/api/chat", { model: "good:f16", messages });
    expect(ollama.statusCode).toBe(200);
    const lines = parseNdjson(ollama.body) as any[];
    expect(lines.map((l) => l.message.content).join("")).toBe("Hello");
    expect(lines.at(-1)!.done).toBe(true);
  });
});

describe("a deleted or replaced remote variant", () => {
  const scrape = () => t.services.metrics.registry.metrics();
  const statusVariants = async () =>
    ((await t.app.inject({ method: "GET", url: "/api/status" })).json() as { remote: { variant: string }[] }).remote;

  it("leaves the upstream metrics and /api/status when deleted", async () => {
    expect((await post("/v1/chat/completions", { model: "gone:f16", messages })).statusCode).toBe(200);
    expect(await scrape()).toMatch(/reflexia_upstream_endpoint_healthy\{model="gone"/);
    expect((await statusVariants()).map((r) => r.variant)).toContain("gone:f16");
    const del = await t.app.inject({ method: "DELETE", url: "/api/delete", payload: { model: "gone:f16" } });
    expect(del.statusCode).toBe(200);
    expect(await scrape()).not.toMatch(/reflexia_upstream_\w+\{[^}]*model="gone"/);
    expect((await statusVariants()).map((r) => r.variant)).not.toContain("gone:f16");
  });

  it("leaves only its new endpoints' series when replaced", async () => {
    // Its dead endpoint is ejected (and reported unhealthy) by a request.
    expect((await post("/v1/chat/completions", { model: "rep:f16", messages })).statusCode).toBe(503);
    const deadSeries = `reflexia_upstream_endpoint_healthy{model="rep",quantization="f16",endpoint="${dead}"} 0`;
    expect(await scrape()).toContain(deadSeries);
    const created = await post("/api/create", {
      model: "rep:f16",
      stream: false,
      remote: { urls: [up], upstream_model: "ok", force: true },
    });
    expect(created.statusCode).toBe(200);
    expect(await scrape()).not.toContain(`model="rep",quantization="f16",endpoint="${dead}"`);
    expect((await statusVariants()).map((r) => r.variant)).not.toContain("rep:f16");
    expect((await post("/v1/chat/completions", { model: "rep:f16", messages })).statusCode).toBe(200);
    expect(await scrape()).toContain(
      `reflexia_upstream_endpoint_healthy{model="rep",quantization="f16",endpoint="${up}"} 1`,
    );
  });
});

describe("an untagged request whose choice is a remote variant never used yet, on a dead endpoint", () => {
  it("falls back to the local variant on its first request, buffered and streamed", async () => {
    const r = await post("/v1/chat/completions", {
      model: TINY,
      messages: [{ role: "user", content: COMPLEX }],
      max_tokens: 4,
    });
    expect(r.statusCode).toBe(200);
    expect(r.json().reflexia).toMatchObject({ variant: `${TINY}:q4_0`, kind: "local" });
    expect(r.json().reflexia.detail).toContain(`${TINY}:f16 left out: every endpoint is ejected after failures`);
    // The ejection has run out by now or not: either way the streamed answer comes from the local variant.
    const s = await post("/v1/chat/completions", {
      model: TINY,
      messages: [{ role: "user", content: `${COMPLEX} Again.` }],
      max_tokens: 4,
      stream: true,
    });
    expect(s.statusCode).toBe(200);
    expect(s.headers["x-reflexia-variant"]).toBe(`${TINY}:q4_0`);
  });
});

describe("an upstream key variable the server's environment lacks", () => {
  it("is refused when the variant is declared over the API, and is the server's error (500) when one was stored", async () => {
    const create = await post("/api/create", {
      model: "keyed:f16",
      remote: { urls: [up], upstream_model: "ok", api_key_env: "REFLEXIA_UPSTREAM_TEST_NEVER_SET" },
    });
    expect(create.statusCode).toBe(400);
    expect(errorOf(create.json()).message).toContain(
      "remote.api_key_env names REFLEXIA_UPSTREAM_TEST_NEVER_SET, which is not set in the server's environment",
    );
    expect((await post("/api/show", { model: "keyed:f16" })).statusCode).toBe(404);
    const use = await post("/v1/chat/completions", { model: "keyless:f16", messages });
    expect(use.statusCode).toBe(500);
    expect(use.json().error).toMatchObject({ code: "RFX_ENGINE", type: "server_error" });
    expect(use.json().error.message).toContain("REFLEXIA_UPSTREAM_TEST_NEVER_SET is not set on the server");
  });
});
