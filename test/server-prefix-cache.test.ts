// The serving path's context features end to end on the tiny model through the real `openai` and `ollama` clients:
// prefix-cache accounting (usage.prompt_tokens_details.cached_tokens, prompt_eval_count, the cached-tokens metric),
// Ollama's `context` round trip, num_ctx, the whole context for one request, and the overflow policy.
import { OllamaEmbeddings } from "@langchain/ollama";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../src/main.ts";
import { createTinyHome, liveServerConfig, TINY, type TinyHome } from "./support/server-fixture.ts";

let home: TinyHome;
const servers: RunningServer[] = [];

async function serve(overrides: Record<string, unknown>): Promise<RunningServer> {
  const loaded = liveServerConfig(home.home, {
    "scheduler.parallel": 4,
    "models.context_size": 1024,
    "adaptive.enabled": false,
    "cache.enabled": false,
    ...overrides,
  });
  const server = await startServer({ loaded, store: home.store, logger: false });
  servers.push(server);
  await server.ready;
  return server;
}

beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await home?.cleanup();
});

const SYSTEM = "You are a helpful assistant that answers in one short sentence about the sea and ships. ".repeat(4);

describe("prefix cache through HTTP", () => {
  it("llama-server's timings beside usage: evaluated and cached prompt tokens, generated ones, their rates", async () => {
    const server = await serve({});
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    type Timings = {
      cache_n: number;
      prompt_n: number;
      prompt_ms: number;
      prompt_per_second: number | null;
      predicted_n: number;
      predicted_ms: number;
      predicted_per_second: number | null;
    };
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: "system", content: SYSTEM },
      { role: "user", content: "What is a mast?" },
    ];
    const ask = { model: TINY, messages, max_tokens: 8, temperature: 0 };
    const buffered = await openai.chat.completions.create(ask);
    const t1 = (buffered as unknown as { timings: Timings }).timings;
    expect(t1.prompt_n + t1.cache_n).toBe(buffered.usage!.prompt_tokens);
    expect(t1.cache_n).toBe(buffered.usage!.prompt_tokens_details!.cached_tokens);
    expect(t1.predicted_n).toBe(buffered.usage!.completion_tokens);
    expect(t1.prompt_ms).toBeGreaterThan(0);
    // Rates from the unrounded times: within 1 % of those from the rounded ms.
    expect(t1.prompt_per_second! / ((t1.prompt_n / t1.prompt_ms) * 1000)).toBeCloseTo(1, 2);
    expect(t1.predicted_per_second! / (((t1.predicted_n - 1) / t1.predicted_ms) * 1000)).toBeCloseTo(1, 2);

    // Streamed: in the last chunk, the same prompt now mostly cached.
    const stream = await openai.chat.completions.create({
      ...ask,
      stream: true,
      stream_options: { include_usage: true },
    });
    let t2: Timings | undefined;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      const t = (c as unknown as { timings?: Timings }).timings;
      if (t) t2 = t;
      if (c.usage) usage = c.usage;
    }
    expect(t2).toBeDefined();
    expect(t2!.cache_n).toBe(usage!.prompt_tokens_details!.cached_tokens);
    expect(t2!.cache_n).toBeGreaterThan(0);
    expect(t2!.prompt_n + t2!.cache_n).toBe(usage!.prompt_tokens);
    expect(t2!.predicted_n).toBe(usage!.completion_tokens);
  });

  it("reports cached tokens to OpenAI and Ollama clients and counts them in /metrics", async () => {
    const server = await serve({});
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: "system", content: SYSTEM },
      { role: "user", content: "What is a ship?" },
    ];
    const first = await openai.chat.completions.create({ model: TINY, messages, max_tokens: 6, temperature: 0 });
    messages.push({ role: "assistant", content: first.choices[0].message.content ?? "" });
    messages.push({ role: "user", content: "And a boat?" });
    const second = await openai.chat.completions.create({ model: TINY, messages, max_tokens: 6, temperature: 0 });
    const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
    expect(cached).toBeGreaterThan(first.usage!.prompt_tokens / 2);
    expect(cached).toBeLessThan(second.usage!.prompt_tokens);

    // Ollama counts only what it evaluated.
    const ollama = new Ollama({ host: server.url });
    const ask = () =>
      ollama.chat({
        model: TINY,
        messages: [
          { role: "system", content: SYSTEM },
          { role: "user", content: "What is a harbour?" },
        ],
        options: { num_predict: 4, temperature: 0 },
      });
    const o1 = await ask();
    const o2 = await ask();
    expect(o2.prompt_eval_count).toBeLessThan(o1.prompt_eval_count);
    expect(o2.prompt_eval_count).toBeGreaterThanOrEqual(1);

    const metrics = await (await fetch(`${server.metricsUrl ?? server.url}/metrics`)).text();
    const line = metrics.split("\n").find((l) => l.startsWith("reflexia_prompt_tokens_cached_total{"));
    expect(line).toBeDefined();
    expect(Number(line!.split(" ").pop())).toBeGreaterThan(0);
  });

  it("honours llama-server's cache_prompt: false (the whole prompt evaluated) on chat and completions", async () => {
    const server = await serve({});
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: "system", content: SYSTEM },
      { role: "user", content: "What is a mast?" },
    ];
    // The openai client passes a field its types do not know through unchanged, as llama-server's users send it.
    const chat = (cachePrompt?: boolean) =>
      openai.chat.completions.create({
        model: TINY,
        messages,
        max_tokens: 4,
        temperature: 0,
        ...(cachePrompt === undefined ? {} : { cache_prompt: cachePrompt }),
      } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const first = await chat();
    const whole = await chat(false);
    expect(whole.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    expect(whole.choices[0].message.content).toBe(first.choices[0].message.content);
    const reused = await chat(true);
    expect(reused.usage!.prompt_tokens_details!.cached_tokens).toBe(reused.usage!.prompt_tokens - 1);
    const completion = (cachePrompt: boolean) =>
      openai.completions.create({
        model: TINY,
        prompt: SYSTEM,
        max_tokens: 2,
        temperature: 0,
        cache_prompt: cachePrompt,
      } as OpenAI.CompletionCreateParamsNonStreaming);
    await completion(true);
    expect((await completion(false)).usage!.prompt_tokens_details?.cached_tokens ?? 0).toBe(0);
    expect((await completion(true)).usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThan(0);
    await expect(
      openai.chat.completions.create({
        model: TINY,
        messages,
        max_tokens: 1,
        cache_prompt: "no",
      } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming),
    ).rejects.toMatchObject({ status: 400 });
  });

  it("returns Ollama's context and continues from it, evaluating only the new tokens", async () => {
    const server = await serve({});
    const ollama = new Ollama({ host: server.url });
    const a = await ollama.generate({ model: TINY, prompt: SYSTEM, options: { num_predict: 8, temperature: 0 } });
    expect(Array.isArray(a.context)).toBe(true);
    expect(a.context.length).toBe(a.prompt_eval_count + a.eval_count);
    const b = await ollama.generate({
      model: TINY,
      prompt: "Tell me more.",
      context: a.context,
      options: { num_predict: 8, temperature: 0 },
    });
    const promptTokens = (b.context.length as number) - b.eval_count;
    expect(promptTokens).toBeGreaterThan(a.context.length);
    // Everything up to the previous answer's last token came from the cache.
    expect(b.prompt_eval_count).toBeLessThan(promptTokens - a.context.length + 3);
    // A bad context is refused by name.
    const bad = await fetch(`${server.url}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: TINY, prompt: "x", context: [-5], stream: false }),
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("token ids");
  });

  it("lets one request use the whole context, honours num_ctx, and applies CONTEXT_OVERFLOW", async () => {
    const server = await serve({ "models.context_overflow": "truncate" });
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    // max_tokens beyond CONTEXT_SIZE / PARALLEL (256) but within CONTEXT_SIZE.
    const big = await openai.completions.create({ model: TINY, prompt: "Once", max_tokens: 700, temperature: 0.8 });
    expect(big.usage!.completion_tokens).toBeGreaterThan(0);
    // max_tokens that leaves no room is a 400 naming CONTEXT_SIZE.
    const err = await openai.completions.create({ model: TINY, prompt: "Once", max_tokens: 1024 }).catch((e) => e);
    expect(err.status).toBe(400);
    expect(String(err.message)).toContain("CONTEXT_SIZE");
    expect(err.param).toBe("max_tokens");

    // Truncate: a long history loses its oldest non-system messages, and the response says so.
    const history: { role: "system" | "user" | "assistant"; content: string }[] = [
      { role: "system", content: "Be brief." },
    ];
    for (let i = 0; i < 30; i++)
      history.push({ role: i % 2 ? "assistant" : "user", content: `message ${i} ${"about the weather ".repeat(10)}` });
    history.push({ role: "user", content: "Last question?" });
    const r = (await openai.chat.completions.create({
      model: TINY,
      messages: history,
      max_tokens: 100,
      temperature: 0,
    })) as OpenAI.ChatCompletion & { reflexia: { context?: { dropped_messages: number; limit: number } } };
    expect(r.reflexia.context!.dropped_messages).toBeGreaterThan(0);
    expect(r.usage!.prompt_tokens + 100).toBeLessThanOrEqual(1024);

    // num_ctx: a smaller limit for one Ollama request.
    const ollama = new Ollama({ host: server.url });
    const small = await ollama.generate({
      model: TINY,
      prompt: "Once upon a time",
      raw: true,
      options: { num_ctx: 24, num_predict: -2, temperature: 0.9 },
    });
    expect((small.context.length as number) <= 24).toBe(true);
    // A larger one cannot be honoured (the pool is the server's): refused by name, not quietly capped.
    const large = await ollama
      .generate({ model: TINY, prompt: "x", raw: true, options: { num_ctx: 1_000_000, num_predict: 2 } })
      .catch((e: unknown) => e);
    expect(large).toMatchObject({ status_code: 400 });
    expect(String((large as Error).message)).toContain("num_ctx 1000000 is above this server's 1024-token context");
  });

  it("/api/embed honours truncate: Ollama's default cuts a long input's end to the context, false refuses it", async () => {
    const server = await serve({ "models.context_size": 256 });
    const ollama = new Ollama({ host: server.url });
    const base = "the tide turns under the harbour wall ".repeat(60);
    const input = [`${base} and then the ship sails`, `${base} while gulls circle over the nets`];
    // Default (truncate omitted, as the ollama client sends it): both cut to the same first 256 tokens.
    const cut = await ollama.embed({ model: TINY, input });
    expect(cut.embeddings).toHaveLength(2);
    expect(cut.embeddings[0]).toEqual(cut.embeddings[1]);
    expect(cut.prompt_eval_count).toBe(2 * 256);
    // A short input is not touched: its own vector.
    const short = await ollama.embed({ model: TINY, input: "the ship sails" });
    expect(short.embeddings[0]).not.toEqual(cut.embeddings[0]);
    // truncate: false refuses, naming the context, in Ollama's shape.
    const refused = await ollama.embed({ model: TINY, input, truncate: false }).catch((e: unknown) => e);
    expect(String((refused as Error).message)).toContain("256-token embedding context");
    // options.num_ctx bounds each input in tokens as the model's context does: cut to it, or with truncate false refused.
    const short64 = await ollama.embed({ model: TINY, input, options: { num_ctx: 64 } });
    expect(short64.embeddings[0]).toEqual(short64.embeddings[1]);
    expect(short64.prompt_eval_count).toBeLessThanOrEqual(2 * 64);
    expect(short64.prompt_eval_count).toBeGreaterThan(2 * 56);
    const over64 = await ollama
      .embed({ model: TINY, input, truncate: false, options: { num_ctx: 64 } })
      .catch((e: unknown) => e);
    expect(String((over64 as Error).message)).toContain("64-token embedding context options.num_ctx asks for");
    // LangChain's OllamaEmbeddings sends requestOptions as options (and truncate, false by default).
    const lc = await new OllamaEmbeddings({
      model: TINY,
      baseUrl: server.url,
      truncate: true,
      maxRetries: 0,
      requestOptions: { numCtx: 64 },
    }).embedQuery(input[0]);
    expect(lc).toEqual(short64.embeddings[0]);
    // Other options change nothing in an embedding: refused by name, in one sentence, not ignored.
    const opts = await ollama
      .embed({ model: TINY, input: "x", options: { num_ctx: 64, temperature: 0.5, top_k: 3 } })
      .catch((e: unknown) => e);
    expect(String((opts as Error).message)).toContain('options "temperature", "top_k" do not apply to embeddings');
    // dimensions as on /v1/embeddings: the model's own size is taken, another refused.
    const size = cut.embeddings[0].length;
    expect((await ollama.embed({ model: TINY, input: "x", dimensions: size })).embeddings[0]).toHaveLength(size);
    const dims = await ollama.embed({ model: TINY, input: "x", dimensions: size - 1 }).catch((e: unknown) => e);
    expect(String((dims as Error).message)).toContain(`dimensions ${size - 1} is not supported`);
  });

  it("refuses instead of truncating with CONTEXT_OVERFLOW=error", async () => {
    const server = await serve({ "models.context_overflow": "error" });
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: TINY,
        max_tokens: 200,
        messages: [
          { role: "user", content: "old ".repeat(500) },
          { role: "user", content: "new ".repeat(400) },
        ],
      }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; reflexia_code: string } };
    // OpenAI's code on an OpenAI route, Reflexia's beside it.
    expect(body.error.code).toBe("context_length_exceeded");
    expect(body.error.reflexia_code).toBe("RFX_CONTEXT_OVERFLOW");
    expect(body.error.message).toContain("1024-token context");
  });
});
