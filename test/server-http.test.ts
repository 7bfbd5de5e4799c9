// HTTP layer over the real store, scheduler and services with the pausable fake engine: API shapes, the error
// table, security, and request metrics (app.inject, no socket).
import { rmSync, truncateSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryMonitor } from "../src/memory/index.ts";
import { createFakeEngine } from "./support/fake-engine.ts";
import {
  buildTestApp,
  createTinyHome,
  parseNdjson,
  errorOf,
  parseSse,
  testConfig,
  TINY,
  type TestApp,
  type TinyHome,
} from "./support/server-fixture.ts";

let home: TinyHome;

beforeAll(async () => {
  home = await createTinyHome(["q4_0", "q8_0"]);
});
afterAll(async () => {
  await home?.cleanup();
});

function appWith(overrides: Record<string, unknown> = {}, extra: Partial<Parameters<typeof buildTestApp>[0]> = {}) {
  return buildTestApp({
    store: home.store,
    engine: createFakeEngine(),
    config: testConfig(home.home, { "scheduler.parallel": 4, ...overrides }),
    ...extra,
  });
}

const OLLAMA_ROUTES = new Set([
  "POST /api/generate",
  "POST /api/chat",
  "DELETE /api/delete",
  "POST /api/show",
  "POST /api/create",
]);

describe("server error table: every bad input is a 4xx with a code, and the server stays up", () => {
  const cases: {
    name: string;
    method: "GET" | "POST" | "DELETE";
    url: string;
    body?: unknown;
    raw?: string;
    headers?: Record<string, string>;
    status: number;
    code: string;
    /** The whole message, where the case pins it. */
    message?: string;
  }[] = [
    {
      name: "malformed JSON",
      method: "POST",
      url: "/v1/chat/completions",
      raw: '{"messages": [',
      status: 400,
      code: "RFX_INVALID_JSON",
    },
    { name: "empty JSON body", method: "POST", url: "/api/chat", raw: "", status: 400, code: "RFX_INVALID_JSON" },
    {
      name: "messages of the wrong type",
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: TINY, messages: "hello" },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "max_tokens as a string",
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: TINY, messages: [{ role: "user", content: "hi" }], max_tokens: "5" },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "negative max_tokens",
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: TINY, messages: [{ role: "user", content: "hi" }], max_tokens: -3 },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "huge max_tokens",
      method: "POST",
      url: "/v1/completions",
      body: { model: TINY, prompt: "hi", max_tokens: 1_000_000_000 },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "n above the documented limit",
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: TINY, messages: [{ role: "user", content: "hi" }], n: 9 },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "temperature out of range",
      method: "POST",
      url: "/v1/chat/completions",
      body: { messages: [{ role: "user", content: "hi" }], temperature: 7 },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "unknown model (OpenAI)",
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: "no-such-model", messages: [{ role: "user", content: "hi" }] },
      status: 404,
      code: "RFX_MODEL_NOT_FOUND",
    },
    {
      name: "unknown variant (Ollama)",
      method: "POST",
      url: "/api/generate",
      body: { model: `${TINY}:q5_k_m`, prompt: "hi", stream: false },
      status: 404,
      code: "RFX_MODEL_NOT_FOUND",
    },
    {
      name: "malformed model name",
      method: "POST",
      url: "/api/chat",
      body: { model: "../etc/passwd", messages: [{ role: "user", content: "x" }] },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "unknown role",
      method: "POST",
      url: "/api/chat",
      body: { model: TINY, role: "wizard", messages: [{ role: "user", content: "x" }], stream: false },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "num_predict 0",
      method: "POST",
      url: "/api/generate",
      body: { model: TINY, prompt: "x", options: { num_predict: 0 } },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "bad keep_alive",
      method: "POST",
      url: "/api/generate",
      body: { model: TINY, prompt: "x", keep_alive: "soon" },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "images are unsupported",
      method: "POST",
      url: "/api/generate",
      body: { model: TINY, prompt: "x", images: ["aGVsbG8="] },
      status: 400,
      code: "RFX_VALIDATION",
      message: `images: "${TINY}" does not support images (it has no vision projector); send text only`,
    },
    {
      name: "images in a chat message are unsupported, by path",
      method: "POST",
      url: "/api/chat",
      body: { model: TINY, messages: [{ role: "user", content: "x", images: ["aGVsbG8="] }] },
      status: 400,
      code: "RFX_VALIDATION",
      message: `messages[0].images: "${TINY}" does not support images (it has no vision projector); send text only`,
    },
    {
      name: "a tool message must name the call it answers",
      method: "POST",
      url: "/v1/chat/completions",
      body: { messages: [{ role: "tool", content: "x" }] },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "10 MB prompt",
      method: "POST",
      url: "/v1/completions",
      body: { model: TINY, prompt: "a".repeat(10 * 1024 * 1024) },
      status: 413,
      code: "RFX_PAYLOAD_TOO_LARGE",
    },
    {
      name: "text/plain body",
      method: "POST",
      url: "/v1/chat/completions",
      raw: "hello",
      headers: { "content-type": "text/plain" },
      status: 415,
      code: "RFX_UNSUPPORTED_MEDIA",
    },
    {
      // Ollama reads any body as JSON, whatever the Content-Type says.
      name: "text/plain non-JSON body on an Ollama route",
      method: "POST",
      url: "/api/chat",
      raw: "hello",
      headers: { "content-type": "text/plain" },
      status: 400,
      code: "RFX_INVALID_JSON",
      // Not fastify's "… but content-type is set to 'application/json'": the client sent text/plain.
      message: "the request body is not valid JSON",
    },
    {
      // Streamed by default: refused before the stream opens, with its status, not as a 200 and an error line.
      name: "quantize into a tag that names another quantization",
      method: "POST",
      url: "/api/models/quantize",
      body: { from: `${TINY}:q8_0`, model: "qz:q8_0", quantize: "q4_0" },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      // Known once the model is loaded, and still before the stream opens: a status, not a 200 and an error event.
      name: "streamed logit_bias naming a token the model lacks",
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: TINY, messages: [{ role: "user", content: "hi" }], stream: true, logit_bias: { "100000": 1 } },
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "a schema property name past the converter's limit",
      method: "POST",
      url: "/v1/chat/completions",
      body: {
        model: TINY,
        messages: [{ role: "user", content: "hi" }],
        response_format: {
          type: "json_schema",
          json_schema: { name: "x", schema: { type: "object", properties: { ["!".repeat(30_000)]: {} } } },
        },
      },
      status: 400,
      code: "RFX_VALIDATION",
    },
    { name: "unknown route", method: "GET", url: "/v1/nothing-here", status: 404, code: "RFX_NOT_FOUND" },
    { name: "wrong method", method: "GET", url: "/api/chat", status: 404, code: "RFX_NOT_FOUND" },
    {
      name: "delete of an unknown model",
      method: "DELETE",
      url: "/api/delete",
      body: { model: "ghost:q4_0" },
      status: 404,
      code: "RFX_MODEL_NOT_FOUND",
    },
    { name: "show without a model", method: "POST", url: "/api/show", body: {}, status: 400, code: "RFX_VALIDATION" },
    {
      name: "create with an unknown quantization",
      method: "POST",
      url: "/api/create",
      body: { model: "x", from: TINY, quantize: "q3_k", stream: false },
      status: 400,
      code: "RFX_VALIDATION",
    },
  ];
  let app: TestApp["app"];
  beforeAll(async () => {
    ({ app } = await appWith({ "server.max_prompt_chars": 100_000 }));
  });
  afterAll(() => app.close());

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const res = await app.inject({
        method: c.method,
        url: c.url,
        headers: { "content-type": "application/json", ...c.headers },
        payload: c.raw !== undefined ? c.raw : c.body !== undefined ? JSON.stringify(c.body) : undefined,
      });
      expect(res.statusCode).toBe(c.status);
      const err = errorOf(res.json());
      expect(err.code).toBe(c.code);
      expect(typeof err.message).toBe("string");
      if (c.message !== undefined) expect(err.message).toBe(c.message);
      // Ollama routes answer in Ollama's shape, every other URL (unmatched ones too) in the native one.
      expect(err.ollama).toBe(OLLAMA_ROUTES.has(`${c.method} ${c.url}`));
      expect(res.headers["content-type"]).toMatch(/application\/json/);
    });
  }

  it("a prompt over MAX_PROMPT_CHARS but under the body limit is 413 too", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/api/generate",
      payload: { model: TINY, prompt: "b".repeat(200_000), stream: false },
    });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res.json()).code).toBe("RFX_PAYLOAD_TOO_LARGE");
  });

  it("still serves after all of them", async () => {
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    const res = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { model: TINY, messages: [{ role: "user", content: "hi" }], max_tokens: 3 },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe("OpenAI-compatible API", () => {
  let app: TestApp["app"];
  let services: TestApp["services"];
  beforeAll(async () => {
    ({ app, services } = await appWith());
  });
  afterAll(() => app.close());

  it("chat completion: shape, usage, finish_reason, Reflexia field and header", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: {
        model: TINY,
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: "hello" },
        ],
        max_tokens: 5,
        temperature: 0.5,
      },
    });
    expect(res.statusCode).toBe(200);
    const b = res.json();
    expect(b.object).toBe("chat.completion");
    expect(b.choices[0].message.role).toBe("assistant");
    expect(b.choices[0].message.content.split(" ").length).toBe(5);
    expect(b.choices[0].finish_reason).toBe("length");
    expect(b.usage.completion_tokens).toBe(5);
    expect(b.usage.total_tokens).toBe(b.usage.prompt_tokens + 5);
    expect(b.reflexia).toMatchObject({
      variant: `${TINY}:q4_0`,
      quantization: "q4_0",
      reason: "complexity_low",
      cache: "bypass",
      complexity: { level: "low" },
    });
    expect(typeof b.reflexia.detail).toBe("string");
    expect(res.headers["x-reflexia-quantization"]).toBe("q4_0");
  });

  it("stop sequences end generation with finish_reason stop", async () => {
    // The fake engine's words are Greek letter names: the first " " after a word is always reached.
    const res = await app.inject({
      method: "POST",
      url: "/v1/completions",
      payload: { model: `${TINY}:q8_0`, prompt: "go", max_tokens: 50, stop: [" "] },
    });
    const b = res.json();
    expect(b.choices[0].finish_reason).toBe("stop");
    expect(b.choices[0].text).not.toContain(" ");
    expect(b.reflexia).toMatchObject({ variant: `${TINY}:q8_0`, reason: "pinned" });
  });

  it("streams chat as SSE: role delta, content deltas, finish chunk, usage chunk, [DONE]", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: {
        model: TINY,
        messages: [{ role: "user", content: "stream please" }],
        max_tokens: 4,
        stream: true,
        stream_options: { include_usage: true },
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/text\/event-stream/);
    expect(res.headers["x-reflexia-quantization"]).toBe("q4_0");
    const events = parseSse(res.body) as any[];
    expect(events.at(-1)).toBe("[DONE]");
    expect(events[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    const content = events
      .slice(1)
      .filter((e) => e !== "[DONE]" && e.choices?.[0]?.delta?.content)
      .map((e) => e.choices[0].delta.content);
    expect(content.length).toBe(4);
    const finish = events.find((e) => e !== "[DONE]" && e.choices?.[0]?.finish_reason);
    expect(finish?.choices[0].finish_reason).toBe("length");
    const usage = events.at(-2);
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBe(4);
  });

  it("streams completions without a usage chunk unless asked", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/v1/completions",
      payload: { prompt: "abc", max_tokens: 3, stream: true },
    });
    const events = parseSse(res.body) as any[];
    expect(events.filter((e) => e !== "[DONE]" && e.usage)).toEqual([]);
    expect(events.filter((e) => e !== "[DONE]" && e.choices[0]?.text).length).toBe(3);
  });

  it("embeddings: float and base64 encodings of the same vectors", async () => {
    const f = (
      await app.inject({ method: "POST", url: "/v1/embeddings", payload: { model: TINY, input: ["a", "b c"] } })
    ).json();
    expect(f.data.length).toBe(2);
    expect(f.data[0].embedding.length).toBe(16);
    expect(f.model).toBe(`${TINY}:q4_0`);
    const b = (
      await app.inject({
        method: "POST",
        url: "/v1/embeddings",
        payload: { model: TINY, input: "a", encoding_format: "base64" },
      })
    ).json();
    const buf = Buffer.from(b.data[0].embedding, "base64");
    const decoded = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4));
    expect(decoded.map((x) => x.toFixed(5))).toEqual(f.data[0].embedding.map((x: number) => Math.fround(x).toFixed(5)));
    expect(services.scheduler.isLoaded(`${TINY}:q4_0`, true)).toBe(true);
  });

  it("lists models: the bare name (adaptive) and each name:tag", async () => {
    const b = (await app.inject({ url: "/v1/models" })).json();
    expect(b.object).toBe("list");
    expect(b.data.map((m: { id: string }) => m.id)).toEqual([TINY, `${TINY}:q4_0`, `${TINY}:q8_0`]);
    expect((await app.inject({ url: `/v1/models/${TINY}:q8_0` })).json().id).toBe(`${TINY}:q8_0`);
    expect((await app.inject({ url: "/v1/models/none:x" })).statusCode).toBe(404);
  });
});

describe("Ollama-compatible API", () => {
  let app: TestApp["app"];
  beforeAll(async () => {
    ({ app } = await appWith());
  });
  afterAll(() => app.close());

  it("generate streams NDJSON by default; the final chunk carries the durations in ns", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/api/generate",
      payload: { model: TINY, prompt: "hello", options: { num_predict: 3, temperature: 0.2 } },
    });
    expect(res.headers["content-type"]).toMatch(/application\/x-ndjson/);
    const lines = parseNdjson(res.body);
    expect(lines.length).toBe(4);
    expect(lines.slice(0, 3).every((l) => l.done === false && typeof l.response === "string")).toBe(true);
    const last = lines[3];
    expect(last).toMatchObject({ done: true, done_reason: "length", eval_count: 3, model: TINY });
    for (const k of ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_duration"]) {
      expect(Number.isInteger(last[k])).toBe(true);
    }
    expect(last.total_duration as number).toBeGreaterThan(0);
  });

  it("generate with stream:false returns one JSON object with the whole response", async () => {
    const b = (
      await app.inject({
        method: "POST",
        url: "/api/generate",
        payload: { model: TINY, prompt: "hello", stream: false, options: { num_predict: 2 } },
      })
    ).json();
    expect(b.done).toBe(true);
    expect(b.response.split(" ").length).toBe(2);
    expect(b.reflexia.quantization).toBe("q4_0");
  });

  it("chat (stream and not) applies an expert role", async () => {
    const streamed = parseNdjson(
      (
        await app.inject({
          method: "POST",
          url: "/api/chat",
          payload: {
            model: TINY,
            role: "software-engineer",
            messages: [{ role: "user", content: "hi" }],
            options: { num_predict: 2 },
          },
        })
      ).body,
    );
    expect(streamed.at(-1)).toMatchObject({ done: true, eval_count: 2 });
    expect((streamed.at(-1)!.reflexia as { role: string }).role).toBe("software-engineer");
    const whole = (
      await app.inject({
        method: "POST",
        url: "/api/chat",
        payload: {
          model: TINY,
          messages: [{ role: "user", content: "hi" }],
          stream: false,
          options: { num_predict: 2 },
        },
      })
    ).json();
    expect(whole.message.role).toBe("assistant");
    expect(whole.message.content.split(" ").length).toBe(2);
  });

  it("tags, show, ps, version", async () => {
    const tags = (await app.inject({ url: "/api/tags" })).json();
    expect(tags.models.map((m: { name: string }) => m.name)).toEqual([`${TINY}:q4_0`, `${TINY}:q8_0`]);
    expect(tags.models[0].details).toMatchObject({ format: "gguf", family: "llama", quantization_level: "Q4_0" });
    expect(tags.models[0].digest).toMatch(/^[0-9a-f]{64}$/);
    const show = (await app.inject({ method: "POST", url: "/api/show", payload: { model: `${TINY}:q8_0` } })).json();
    expect(show.details.quantization_level).toBe("Q8_0");
    expect(show.model_info["general.architecture"]).toBe("llama");
    expect(show.reflexia.estimated_memory_bytes).toBeGreaterThan(0);
    const ps = (await app.inject({ url: "/api/ps" })).json();
    expect(ps.models.map((m: { name: string }) => m.name)).toContain(`${TINY}:q4_0`);
    expect((await app.inject({ url: "/api/version" })).json()).toEqual({ version: "test" });
  });

  it("an empty generate loads the model; keep_alive 0 unloads it", async () => {
    const load = (
      await app.inject({ method: "POST", url: "/api/generate", payload: { model: `${TINY}:q8_0` } })
    ).json();
    expect(load.done_reason).toBe("load");
    expect((await app.inject({ url: "/api/ps" })).json().models.map((m: { name: string }) => m.name)).toContain(
      `${TINY}:q8_0`,
    );
    const unload = (
      await app.inject({ method: "POST", url: "/api/generate", payload: { model: `${TINY}:q8_0`, keep_alive: 0 } })
    ).json();
    expect(unload.done_reason).toBe("unload");
    expect((await app.inject({ url: "/api/ps" })).json().models.map((m: { name: string }) => m.name)).not.toContain(
      `${TINY}:q8_0`,
    );
  });

  it("embed and legacy embeddings", async () => {
    const e = (
      await app.inject({ method: "POST", url: "/api/embed", payload: { model: TINY, input: ["x", "y"] } })
    ).json();
    expect(e.embeddings.length).toBe(2);
    expect(e.prompt_eval_count).toBeGreaterThan(0);
    const l = (
      await app.inject({ method: "POST", url: "/api/embeddings", payload: { model: TINY, prompt: "x" } })
    ).json();
    expect(l.embedding).toEqual(e.embeddings[0]);
    // No input or "" embeds nothing, as Ollama's (a request that only loads the model); OpenAI refuses "" by path.
    for (const payload of [{ model: TINY }, { model: TINY, input: "" }]) {
      const none = await app.inject({ method: "POST", url: "/api/embed", payload });
      expect(none.statusCode).toBe(200);
      expect(none.json().embeddings).toEqual([]);
    }
    const openai = await app.inject({
      method: "POST",
      url: "/v1/embeddings",
      payload: { model: TINY, input: ["x", ""] },
    });
    expect(openai.statusCode).toBe(400);
    expect(openai.json().error).toMatchObject({
      param: "input[1]",
      message: "input[1] is an empty string; send text to embed",
    });
  });

  it("create and copy replace an existing destination, as Ollama's do; a loaded variant whose weights changed is unloaded", async () => {
    const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });
    const ps = async () =>
      (await app.inject({ url: "/api/ps" })).json().models.map((m: { name: string; digest: string }) => m.name);
    const gen = (model: string) =>
      post("/api/generate", { model, prompt: "hi", stream: false, options: { num_predict: 1 } });
    // Settings changed in place (the usual way to update a model: create it again): same weights, still loaded.
    expect(
      (await post("/api/create", { model: "redo", from: `${TINY}:q4_0`, system: "One.", stream: false })).statusCode,
    ).toBe(200);
    expect((await gen("redo:q4_0")).statusCode).toBe(200);
    const again = await post("/api/create", { model: "redo", from: `${TINY}:q4_0`, system: "Two.", stream: false });
    expect(again.json()).toEqual({ status: "success" });
    const redo = (await home.store.resolve("redo:q4_0")).manifest;
    expect(redo.modelfile?.system).toBe("Two.");
    expect(redo.digest).toBe((await home.store.resolve(`${TINY}:q4_0`)).manifest.digest);
    expect(await ps()).toContain("redo:q4_0");
    // Other weights under the same name:tag: the loaded ones go, the next request loads the new file.
    expect((await post("/api/copy", { source: `${TINY}:q4_0`, destination: "redo:mine" })).statusCode).toBe(200);
    expect((await gen("redo:mine")).statusCode).toBe(200);
    expect(await ps()).toContain("redo:mine");
    expect((await post("/api/copy", { source: `${TINY}:q8_0`, destination: "redo:mine" })).statusCode).toBe(200);
    expect(await ps()).not.toContain("redo:mine");
    expect((await home.store.resolve("redo:mine")).manifest.quantization).toBe("q8_0");
    const shown = await gen("redo:mine");
    expect(shown.statusCode).toBe(200);
    const loaded = (await app.inject({ url: "/api/ps" }))
      .json()
      .models.find((m: { name: string }) => m.name === "redo:mine");
    expect(loaded.details.quantization_level.toLowerCase()).toBe("q8_0");
    expect(
      (await app.inject({ method: "DELETE", url: "/api/delete", payload: { model: "redo:q4_0" } })).statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ method: "DELETE", url: "/api/delete", payload: { model: "redo:mine" } })).statusCode,
    ).toBe(200);
  });

  it("copy, create (quantize from an existing model) and delete", async () => {
    expect(
      (
        await app.inject({
          method: "POST",
          url: "/api/copy",
          payload: { source: `${TINY}:q4_0`, destination: "copied:q4_0" },
        })
      ).statusCode,
    ).toBe(200);
    const created = await app.inject({
      method: "POST",
      url: "/api/create",
      payload: { model: "made", from: `${TINY}:q8_0`, quantize: "Q4_0" },
    });
    expect(created.statusCode).toBe(200);
    expect(parseNdjson(created.body).at(-1)).toEqual({ status: "success" });
    // A quantization the source lacks is the new model's own file: the source gains no variant (as in Ollama).
    const own = await app.inject({
      method: "POST",
      url: "/api/create",
      payload: { model: "made5", from: TINY, quantize: "q5_k_m", system: "Hi.", stream: false },
    });
    expect(own.json()).toEqual({ status: "success" });
    expect((await home.store.variants(TINY)).map((v) => v.tag)).toEqual(["q4_0", "q8_0"]);
    expect((await home.store.resolve("made5:q5_k_m")).manifest).toMatchObject({
      quantization: "q5_k_m",
      modelfile: { system: "Hi." },
    });
    const names = (await app.inject({ url: "/api/tags" })).json().models.map((m: { name: string }) => m.name);
    expect(names).toEqual(expect.arrayContaining(["copied:q4_0", "made:q4_0", "made5:q5_k_m"]));
    expect((await app.inject({ method: "DELETE", url: "/api/delete", payload: { model: "made5" } })).statusCode).toBe(
      200,
    );
    expect(
      (await app.inject({ method: "DELETE", url: "/api/delete", payload: { model: "copied:q4_0" } })).statusCode,
    ).toBe(200);
    expect((await app.inject({ method: "DELETE", url: "/api/delete", payload: { name: "made" } })).statusCode).toBe(
      200,
    );
    const after = (await app.inject({ url: "/api/tags" })).json().models.map((m: { name: string }) => m.name);
    expect(after).toEqual([`${TINY}:q4_0`, `${TINY}:q8_0`]);
  });

  it("create refuses before the first byte what it can know (missing from, bad names, quantization), streaming or not", async () => {
    const tags = async () =>
      (await app.inject({ url: "/api/tags" })).json().models.map((m: { name: string }) => m.name);
    const before = await tags();
    for (const stream of [true, false]) {
      for (const [payload, status, code] of [
        [{ model: "x", from: "ghost" }, 404, "RFX_MODEL_NOT_FOUND"],
        [{ model: "x", from: `${TINY}:q5_k_m` }, 404, "RFX_MODEL_NOT_FOUND"],
        [{ model: "x", from: "ghost", quantize: "q8_0" }, 404, "RFX_MODEL_NOT_FOUND"],
        [{ model: "../x", from: TINY }, 400, "RFX_VALIDATION"],
        [{ model: "x", from: TINY, quantize: "q3_k" }, 400, "RFX_VALIDATION"],
      ] as const) {
        const res = await app.inject({ method: "POST", url: "/api/create", payload: { ...payload, stream } });
        expect(res.statusCode, `${JSON.stringify(payload)} stream ${stream}: ${res.body}`).toBe(status);
        expect(errorOf(res.json()).code).toBe(code);
      }
    }
    expect(await tags()).toEqual(before);
  });
});

describe("Reflexia endpoints", () => {
  it("roles, status, healthz and readyz (503 until ready)", async () => {
    let ready = false;
    const { app } = await appWith({}, { ready: () => ready });
    const roles = (await app.inject({ url: "/api/roles" })).json();
    expect(roles.roles.length).toBeGreaterThanOrEqual(12);
    expect(roles.roles[0]).toHaveProperty("system_prompt");
    const notReady = await app.inject({ url: "/readyz" });
    expect(notReady.statusCode).toBe(503);
    ready = true;
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(200);
    expect((await app.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    const st = (await app.inject({ url: "/api/status" })).json();
    expect(st.queue).toMatchObject({ running: 0, queued: 0, parallel: 4, queue_size: 64 });
    expect(st.cache).toMatchObject({ enabled: true, size: 0 });
    await app.close();
  });

  it("while draining, API requests get 503 RFX_NOT_READY with Retry-After and /readyz is 503", async () => {
    const { app, services } = await appWith();
    await services.scheduler.drain();
    const res = await app.inject({ method: "POST", url: "/api/generate", payload: { model: TINY, prompt: "x" } });
    expect(res.statusCode).toBe(503);
    expect(errorOf(res.json()).code).toBe("RFX_NOT_READY");
    expect(res.headers["retry-after"]).toBe("5");
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(503);
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    await app.close();
  });

  it("a repeated deterministic request is a cache hit, by field, header and metric", async () => {
    const { app, services } = await appWith();
    const payload = { model: TINY, messages: [{ role: "user", content: "cache me" }], max_tokens: 4, temperature: 0 };
    const first = (await app.inject({ method: "POST", url: "/v1/chat/completions", payload })).json();
    const second = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { ...payload, stream: true },
    });
    expect(first.reflexia.cache).toBe("miss");
    expect(second.headers["x-reflexia-cache"]).toBe("hit");
    const text = (parseSse(second.body) as any[])
      .filter((e) => e !== "[DONE]" && e.choices?.[0]?.delta?.content)
      .map((e) => e.choices[0].delta.content)
      .join("");
    expect(text).toBe(first.choices[0].message.content);
    const metricsText = await services.metrics.registry.metrics();
    expect(metricsText).toMatch(/^reflexia_cache_hits_total 1$/m);
    expect(metricsText).toMatch(/^reflexia_cache_misses_total 1$/m);
    const st = (await app.inject({ url: "/api/status" })).json();
    expect(st.cache).toMatchObject({ size: 1, hits: 1, misses: 1, hit_rate: 0.5 });
    await app.close();
  });

  it("tool-call arguments in another key order are another prompt, so not a hit", async () => {
    const { app } = await appWith();
    const chat = (args: string) =>
      app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        payload: {
          model: TINY,
          temperature: 0,
          max_tokens: 4,
          messages: [
            { role: "user", content: "where is it" },
            {
              role: "assistant",
              tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: args } }],
            },
            { role: "tool", tool_call_id: "c1", content: "42" },
          ],
        },
      });
    expect((await chat('{"zeta":"v","alpha":"q"}')).json().reflexia.cache).toBe("miss");
    expect((await chat('{"zeta":"v","alpha":"q"}')).json().reflexia.cache).toBe("hit");
    expect((await chat('{"alpha":"q","zeta":"v"}')).json().reflexia.cache).toBe("miss");
    await app.close();
  });

  it("a context overflow past the model's trained context names it, not only CONTEXT_SIZE", async () => {
    const { app } = await appWith({ "models.context_size": 8192, "models.context_overflow": "error" });
    const res = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { model: TINY, messages: [{ role: "user", content: "hi" }], max_tokens: 5000 },
    });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res.json()).message).toContain(
      "maximum context length of a request is 4096 tokens (the model's trained context; CONTEXT_SIZE 8192 is capped to it",
    );
    await app.close();
  });

  it("a hit evaluates nothing and says so: the whole prompt is cached on both APIs", async () => {
    const { app } = await appWith();
    const payload = { model: TINY, messages: [{ role: "user", content: "count me" }], max_tokens: 4, temperature: 0 };
    const miss = (await app.inject({ method: "POST", url: "/v1/chat/completions", payload })).json();
    const hit = (await app.inject({ method: "POST", url: "/v1/chat/completions", payload })).json();
    expect(hit.reflexia.cache).toBe("hit");
    expect(hit.usage.prompt_tokens).toBe(miss.usage.prompt_tokens);
    expect(hit.usage.prompt_tokens_details.cached_tokens).toBe(miss.usage.prompt_tokens);
    expect(hit.timings).toMatchObject({ prompt_n: 0, cache_n: miss.usage.prompt_tokens });
    const body = { model: TINY, prompt: "count me too", stream: false, options: { temperature: 0, num_predict: 4 } };
    const first = (await app.inject({ method: "POST", url: "/api/generate", payload: body })).json();
    const again = (await app.inject({ method: "POST", url: "/api/generate", payload: body })).json();
    expect(again.reflexia.cache).toBe("hit");
    expect(again.prompt_eval_count).toBe(0);
    expect(again.reflexia.cached_prompt_tokens).toBe(first.prompt_eval_count + first.reflexia.cached_prompt_tokens);
    await app.close();
  });

  it("a hit is what a miss would run: keyed by the variant's weights, and answered without a fresh memory sample only when the choice cannot depend on memory", async () => {
    const own = await createTinyHome(["q4_0", "q8_0"]);
    try {
      let samples = 0;
      const monitor = createMemoryMonitor({ maxMemoryPercent: 80 });
      const memory = { ...monitor, sample: () => (samples++, monitor.sample()) };
      const { app, services } = await buildTestApp({
        store: own.store,
        engine: createFakeEngine(),
        config: testConfig(own.home, { "scheduler.parallel": 2 }),
        memory,
      });
      const ask = async (model: string) =>
        (
          await app.inject({
            method: "POST",
            url: "/api/generate",
            payload: { model, prompt: "weights matter", stream: false, options: { temperature: 0, num_predict: 3 } },
          })
        ).json();
      // Untagged: the first request loads the variant (a fresh sample decides whether it fits); once it is loaded
      // the policy's choice no longer depends on memory, so the repeat is a hit with no sample taken.
      expect((await ask(TINY)).reflexia).toMatchObject({ cache: "miss", variant: `${TINY}:q4_0` });
      const before = samples;
      expect((await ask(TINY)).reflexia).toMatchObject({ cache: "hit", variant: `${TINY}:q4_0` });
      expect((await ask(`${TINY}:q4_0`)).reflexia.cache).toBe("hit");
      expect(samples).toBe(before);
      // The same name:tag now points at other weights (written here, as another process would): the old answer
      // must not be served; the scheduler sees the loaded file is not the variant's any more and loads the new one,
      // so what is filed under the new weights is theirs.
      const loadsBefore = services.scheduler.status().variants.map((v) => v.path);
      await own.store.synth({ shape: "tiny", quant: ["q4_0"], name: "other", seed: 2 });
      await own.store.copy("other:q4_0", `${TINY}:q4_0`, { force: true });
      expect((await ask(`${TINY}:q4_0`)).reflexia.cache).toBe("miss");
      const after = services.scheduler.status().variants.map((v) => v.path);
      expect(after).toEqual([(await own.store.resolve("other:q4_0")).path]);
      expect(after).not.toEqual(loadsBefore);
      expect((await ask(`${TINY}:q4_0`)).reflexia.cache).toBe("hit");
      await app.close();
    } finally {
      await own.cleanup();
    }
  });
});

describe("security", () => {
  it("API keys: 401 without, accepted as Bearer or X-API-Key; probes stay open", async () => {
    const { app } = await appWith(
      { "auth.enabled": true, "auth.api_key": "s3cret" },
      { apiKeys: ["s3cret", "other-key"] },
    );
    const none = await app.inject({ url: "/api/tags" });
    expect(none.statusCode).toBe(401);
    expect(errorOf(none.json()).code).toBe("RFX_UNAUTHORIZED");
    expect((await app.inject({ url: "/api/tags", headers: { authorization: "Bearer wrong" } })).statusCode).toBe(401);
    expect((await app.inject({ url: "/api/tags", headers: { authorization: "Bearer s3cret" } })).statusCode).toBe(200);
    expect((await app.inject({ url: "/v1/models", headers: { "x-api-key": "other-key" } })).statusCode).toBe(200);
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(200);
    await app.close();
  });

  it("rate limiting answers 429 RFX_RATE_LIMITED beyond the per-minute budget", async () => {
    const { app } = await appWith({ "server.rate_limit_per_minute": 2 });
    expect((await app.inject({ url: "/api/version" })).statusCode).toBe(200);
    expect((await app.inject({ url: "/api/version" })).statusCode).toBe(200);
    const third = await app.inject({ url: "/api/version" });
    expect(third.statusCode).toBe(429);
    expect(errorOf(third.json()).code).toBe("RFX_RATE_LIMITED");
    expect(third.headers["retry-after"]).toBeDefined();
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    await app.close();
  });

  it("security headers everywhere; CORS only when configured", async () => {
    const { app } = await appWith();
    const res = await app.inject({ url: "/api/version", headers: { origin: "https://evil.example" } });
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-frame-options"]).toBe("DENY");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    expect(res.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    const err = await app.inject({ url: "/nope" });
    expect(err.headers["x-content-type-options"]).toBe("nosniff");
    await app.close();
    const withCors = (await appWith({ "server.cors_origins": "https://ui.example" })).app;
    const ok = await withCors.inject({ url: "/api/version", headers: { origin: "https://ui.example" } });
    expect(ok.headers["access-control-allow-origin"]).toBe("https://ui.example");
    const other = await withCors.inject({ url: "/api/version", headers: { origin: "https://evil.example" } });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    await withCors.close();
  });
});

describe("no error message shows a model-store path", () => {
  it("a corrupt blob and a failing load are reported by model and digest, never by blob path", async () => {
    const own = await createTinyHome(["q4_0"]);
    try {
      const blob = (await own.store.resolve(`${TINY}:q4_0`)).path;
      expect(blob).toContain("/blobs/sha256-");
      const { app } = await buildTestApp({
        store: own.store,
        engine: createFakeEngine({ failPaths: [blob] }),
        config: testConfig(own.home),
      });
      const gen = await app.inject({
        method: "POST",
        url: "/api/generate",
        payload: { model: `${TINY}:q4_0`, prompt: "hi", stream: false },
      });
      expect(errorOf(gen.json()).code).toBe("RFX_ENGINE");
      const streamed = await app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        payload: { model: `${TINY}:q4_0`, messages: [{ role: "user", content: "hi" }], stream: true },
      });
      truncateSync(blob, 100);
      const show = await app.inject({ method: "POST", url: "/api/show", payload: { model: `${TINY}:q4_0` } });
      expect(show.statusCode).toBe(422);
      for (const res of [gen, streamed, show]) {
        expect(res.body).not.toContain(own.home);
        expect(res.body).not.toContain("blobs");
        expect(res.body).toMatch(/blob sha256:[0-9a-f]{12}/);
      }
      await app.close();
    } finally {
      await own.cleanup();
    }
  });

  it("a variant whose blob went missing is refused for a run, and can be deleted by name or name:tag", async () => {
    const own = await createTinyHome(["q4_0", "q8_0"]);
    try {
      const { app } = await buildTestApp({
        store: own.store,
        engine: createFakeEngine(),
        config: testConfig(own.home),
      });
      for (const [tag, ref] of [
        ["q4_0", TINY], // untagged: the variant show reports (the default quantization)
        ["q8_0", `${TINY}:q8_0`],
      ]) {
        rmSync((await own.store.resolve(`${TINY}:${tag}`)).path);
        const show = await app.inject({ method: "POST", url: "/api/show", payload: { model: `${TINY}:${tag}` } });
        expect(show.statusCode).toBe(404);
        expect(errorOf(show.json()).message).toContain("is missing; remove the variant and add the model again");
        const del = await app.inject({ method: "DELETE", url: "/api/delete", payload: { model: ref } });
        expect(del.statusCode, ref).toBe(200);
        expect((await own.store.variants(TINY)).map((v) => v.tag)).not.toContain(tag);
      }
      await app.close();
    } finally {
      await own.cleanup();
    }
  });
});

describe("request metrics", () => {
  it("label the route pattern, never the raw URL; unknown routes are 'unmatched'", async () => {
    const { app, services } = await appWith();
    await app.inject({ url: `/v1/models/${TINY}:q4_0` });
    await app.inject({ url: "/v1/models/secret-probe-123" });
    await app.inject({ url: "/wp-admin/install.php?x=1" });
    await app.inject({ method: "POST", url: "/api/show", payload: { model: TINY } });
    const text = await services.metrics.registry.metrics();
    expect(text).toContain('reflexia_http_requests_total{method="GET",endpoint="/v1/models/*",status="200"} 1');
    expect(text).toContain('reflexia_http_requests_total{method="GET",endpoint="/v1/models/*",status="404"} 1');
    expect(text).toContain('reflexia_http_requests_total{method="GET",endpoint="unmatched",status="404"} 1');
    expect(text).toContain('reflexia_http_requests_total{method="POST",endpoint="/api/show",status="200"} 1');
    expect(text).not.toContain("secret-probe-123");
    expect(text).not.toContain("wp-admin");
    await app.close();
  });
});
