// The library API (createReflexia, src/index.ts) on the tiny synthetic model: real inference through the server's
// services, batch order and per-item errors, streaming with abort, models, documents with cited answers, and a
// server started in-process that shares the library's scheduler and response cache.
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReflexia, ReflexiaError, type Reflexia } from "../src/index.ts";
import { CONFIG_OPTIONS_FILE, renderConfigOptions } from "../src/library/render-config-options.ts";
import { createTinyHome, TINY, type TinyHome } from "./support/server-fixture.ts";

let tiny: TinyHome;
let reflexia: Reflexia;

beforeAll(async () => {
  tiny = await createTinyHome(["q4_0", "f16"]);
  reflexia = await createReflexia({
    env: {},
    home: tiny.home,
    ensureDefaultModel: false,
    models: { default: TINY, context_size: 4096 },
    scheduler: { parallel: 2 },
    adaptive: { enabled: false },
    server: { upload_limit_bytes: 64 * 1024 },
  });
});

afterAll(async () => {
  await reflexia?.close();
  await tiny?.cleanup();
});

describe("createReflexia options", () => {
  it("keeps src/library/config-options.ts as the config table renders it (npm run gen:options)", () => {
    expect(readFileSync(CONFIG_OPTIONS_FILE, "utf8")).toBe(renderConfigOptions());
  });

  it("lets options win over the environment, and reads the environment for the rest", () => {
    expect(reflexia.config.models.default).toBe(TINY);
    expect(reflexia.config.scheduler.parallel).toBe(2);
    expect(reflexia.config.home).toBe(tiny.home);
  });

  it("refuses an unknown option by name, and a bad value naming its key", async () => {
    const unknown = await createReflexia({ env: {}, home: tiny.home, models: { defualt: "x" } } as never).catch(
      (e: unknown) => e,
    );
    expect(unknown).toBeInstanceOf(ReflexiaError);
    expect((unknown as ReflexiaError).code).toBe("RFX_CONFIG_INVALID");
    expect((unknown as ReflexiaError).message).toContain("models.defualt");
    const bad = await createReflexia({ env: { PARALLEL: "-3" }, home: tiny.home }).catch((e: unknown) => e);
    expect((bad as ReflexiaError).code).toBe("RFX_CONFIG_INVALID");
    expect((bad as ReflexiaError).message).toContain("scheduler.parallel (PARALLEL) from env");
  });
});

describe("generate and chat", () => {
  it("answers a prompt with the variant, its reason and the cache outcome (a repeat is a hit)", async () => {
    const first = await reflexia.generate({ prompt: "What is quantum computing?", maxTokens: 8, temperature: 0 });
    expect(first.completionTokens).toBeGreaterThan(0);
    expect(first.meta.variant).toBe(`${TINY}:q4_0`);
    expect(first.meta.reason).toBeTruthy();
    expect(first.meta.cache).toBe("miss");
    const again = await reflexia.generate({ prompt: "What is quantum computing?", maxTokens: 8, temperature: 0 });
    expect(again.meta.cache).toBe("hit");
    expect(again.text).toBe(first.text);
  });

  it("refuses what the server refuses, with the same codes", async () => {
    await expect(reflexia.generate({ prompt: "x", maxTokens: 1_000_000 })).rejects.toMatchObject({
      code: "RFX_VALIDATION",
    });
    await expect(reflexia.generate({ prompt: "x", model: "no-such-model" })).rejects.toMatchObject({
      code: "RFX_MODEL_NOT_FOUND",
    });
    await expect(reflexia.generate({ prompt: "x", role: "no-such-role" })).rejects.toBeInstanceOf(ReflexiaError);
  });

  it("honours a grammar and log-probabilities given with the other sampling options", async () => {
    const r = await reflexia.generate({
      prompt: "Answer yes or no",
      maxTokens: 8,
      temperature: 0,
      grammar: { gbnf: 'root ::= "yes" | "no"' },
      logprobs: 2,
    });
    expect(["yes", "no"]).toContain(r.text);
    expect(r.logprobs?.length).toBe(r.completionTokens);
    expect(r.logprobs?.[0].top).toHaveLength(2);
  });

  it("streams a chat: the pieces make up the result's text", async () => {
    const stream = reflexia.chat({ messages: [{ role: "user", content: "Say something" }], maxTokens: 12, seed: 3 });
    const pieces: string[] = [];
    for await (const text of stream) pieces.push(text);
    const result = await stream.result;
    expect(pieces.length).toBeGreaterThan(0);
    expect(pieces.join("")).toBe(result.text);
    expect(result.completionTokens).toBeLessThanOrEqual(12);
  });

  it("stops a streaming chat when its signal aborts, with finishReason cancelled", async () => {
    const controller = new AbortController();
    const stream = reflexia.chat({
      messages: [{ role: "user", content: "Tell a long story" }],
      maxTokens: 2000,
      temperature: 0.8,
      signal: controller.signal,
    });
    for await (const _ of stream) controller.abort();
    const result = await stream.result;
    expect(result.finishReason).toBe("cancelled");
    expect(result.completionTokens).toBeLessThan(2000);
  });

  it("refuses malformed messages by name", async () => {
    const bad = reflexia.chat({ messages: [{ role: "robot", content: "hi" }] } as never);
    await expect(bad.result).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    await expect(reflexia.chat({ messages: "hi" } as never).result).rejects.toMatchObject({ code: "RFX_VALIDATION" });
  });

  it("rejects with RFX_CANCELLED when the signal is aborted before the request starts", async () => {
    const stream = reflexia.chat({ messages: [{ role: "user", content: "hi" }], signal: AbortSignal.abort() });
    await expect(stream.result).rejects.toMatchObject({ code: "RFX_CANCELLED" });
    const iterate = async () => {
      for await (const _ of stream);
    };
    await expect(iterate()).rejects.toMatchObject({ code: "RFX_CANCELLED" });
  });
});

describe("batchGenerate", () => {
  it("answers in input order, and a failed item fails alone", async () => {
    const settledOrder: number[] = [];
    const items = await reflexia.batchGenerate(
      [
        { prompt: "What is quantum computing?", maxTokens: 3 },
        "Explain machine learning",
        { prompt: "bad", maxTokens: 1_000_000 },
        { prompt: "Name three colors", maxTokens: 5, model: "missing-model" },
        { prompt: "Name three colors", maxTokens: 5 },
      ],
      { maxTokens: 4, temperature: 0, onItem: (i) => settledOrder.push(i) },
    );
    expect(items.map((i) => i.ok)).toEqual([true, true, false, false, true]);
    // Each item's own maxTokens (or the batch default) shows the result sits at its input's index.
    const tokens = items.map((i) => (i.ok ? i.result.completionTokens : i.error.code));
    expect(tokens[0]).toBeLessThanOrEqual(3);
    expect(tokens[1]).toBeLessThanOrEqual(4);
    expect(tokens[2]).toBe("RFX_VALIDATION");
    expect(tokens[3]).toBe("RFX_MODEL_NOT_FOUND");
    expect(tokens[4]).toBeLessThanOrEqual(5);
    expect(settledOrder.sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it("gives the same text a single generate gives (the guide's three prompts, greedy)", async () => {
    const prompts = ["What is quantum computing?", "Explain machine learning", "How does a compiler work?"];
    const batch = await reflexia.batchGenerate(prompts, { maxTokens: 6, temperature: 0 });
    for (const [i, item] of batch.entries()) {
      expect(item.ok).toBe(true);
      const single = await reflexia.generate({ prompt: prompts[i], maxTokens: 6, temperature: 0 });
      // The single call is a cache hit of the batch item: same key, hence the same prompt at the same index.
      expect(single.meta.cache).toBe("hit");
      if (item.ok) expect(single.text).toBe(item.result.text);
    }
  });

  it("refuses a non-array and a bad concurrency", async () => {
    await expect(reflexia.batchGenerate("x" as never)).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    await expect(reflexia.batchGenerate(["x"], { concurrency: 0 })).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    expect(await reflexia.batchGenerate([])).toEqual([]);
  });
});

describe("embed, models, documents", () => {
  it("embeds with the builtin embedder at the configured dimension", async () => {
    const r = await reflexia.embed(["alpha", "beta"], { model: "builtin" });
    expect(r.embeddings).toHaveLength(2);
    expect(r.embeddings[0]).toHaveLength(reflexia.config.vector_db.embedding_dim);
  });

  it("synthesizes, quantizes, lists and removes a model", async () => {
    const synth = await reflexia.models.synth({ name: "lib-synth", shape: "tiny", quant: ["f16"], seed: 1 });
    expect(synth.created.map((m) => m.tag)).toEqual(["f16"]);
    const q = await reflexia.models.quantize("lib-synth", ["q8_0"]);
    expect(q.created.map((m) => m.tag)).toEqual(["q8_0"]);
    // Any case, as the CLI and the HTTP API take a quantization name.
    const upper = await reflexia.models.quantize("lib-synth", ["Q4_K_M"]);
    expect(upper.created.map((m) => [m.tag, m.quantization])).toEqual([["q4_k_m", "q4_k_m"]]);
    const listed = (await reflexia.models.list()).find((m) => m.name === "lib-synth");
    expect(listed?.variants.map((v) => v.tag).sort()).toEqual(["f16", "q4_k_m", "q8_0"]);
    const answer = await reflexia.generate({ prompt: "hi", model: "lib-synth:q8_0", maxTokens: 2 });
    expect(answer.meta.quantization).toBe("q8_0");
    expect((await reflexia.models.remove("lib-synth")).length).toBe(3);
    expect((await reflexia.models.list()).some((m) => m.name === "lib-synth")).toBe(false);
  });

  it("ingests a folder, queries it, and answers with rag citing the sources", async () => {
    const dir = join(tiny.home, "lib-docs");
    await mkdir(join(dir, "nested"), { recursive: true });
    await writeFile(join(dir, "kiwi.md"), "# Kiwi\n\nThe kiwi fruit grows on vines and is rich in vitamin C.\n");
    await writeFile(join(dir, "nested", "volcano.txt"), "A volcano erupts when magma rises through the crust.\n");
    const added = await reflexia.documents.add(dir);
    expect(added.map((a) => a.ok)).toEqual([true, true]);
    expect(added.map((a) => a.source.endsWith("kiwi.md") || a.source.endsWith("volcano.txt"))).toEqual([true, true]);
    const hits = await reflexia.documents.query("what erupts when magma rises", { topK: 1 });
    expect(hits.results[0].title).toBe("volcano.txt");
    const answer = await reflexia.generate({
      prompt: "Which fruit is rich in vitamin C?",
      rag: { topK: 1 },
      maxTokens: 4,
    });
    expect(answer.meta.sources?.map((s) => s.title)).toEqual(["kiwi.md"]);
    const listed = await reflexia.documents.list();
    expect(listed.total).toBe(2);
    await reflexia.documents.remove(listed.documents[0].id);
    expect((await reflexia.documents.list()).total).toBe(1);
    await expect(reflexia.documents.remove("no-such-id")).rejects.toMatchObject({ code: "RFX_DOCUMENT_NOT_FOUND" });
  });

  it("refuses a file over the upload limit before reading it, as a failed item in its place", async () => {
    const dir = join(tiny.home, "lib-docs-big");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "a-big.txt"), "lava ".repeat(20_000)); // 100,000 bytes > the 65,536 set above
    await writeFile(join(dir, "b-small.txt"), "A glacier is a river of ice.\n");
    const added = await reflexia.documents.add(dir);
    expect(added.map((a) => [a.ok, a.source.split("/").pop()])).toEqual([
      [false, "a-big.txt"],
      [true, "b-small.txt"],
    ]);
    const refused = added[0];
    expect(!refused.ok && refused.error.code).toBe("RFX_PAYLOAD_TOO_LARGE");
    expect(!refused.ok && refused.error.message).toContain("the upload limit is 65,536 (UPLOAD_LIMIT_BYTES)");
  });

  it("refuses an unknown benchmark kind by name", async () => {
    await expect(reflexia.benchmark("nope" as never)).rejects.toMatchObject({ code: "RFX_VALIDATION" });
  });
});

describe("serve and close", () => {
  it("serves HTTP over the same services: a library answer is an HTTP cache hit, and closing the server leaves the library open", async () => {
    const prompt = "Served from the same cache?";
    const fromLibrary = await reflexia.generate({ prompt, maxTokens: 5, temperature: 0 });
    const server = await reflexia.serve({ port: 0, metricsPort: 0, host: "127.0.0.1", warmUp: false });
    try {
      await server.ready;
      const res = await fetch(`${server.url}/api/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: TINY, prompt, stream: false, options: { temperature: 0, num_predict: 5 } }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { response: string; reflexia: { cache: string; variant: string } };
      expect(body.reflexia.cache).toBe("hit");
      expect(body.response).toBe(fromLibrary.text);
      const ps = (await (await fetch(`${server.url}/api/ps`)).json()) as { models: { name: string }[] };
      expect(ps.models.map((m) => m.name)).toContain(`${TINY}:q4_0`);
    } finally {
      await server.close();
    }
    const after = await reflexia.generate({ prompt: "still open?", maxTokens: 2 });
    expect(after.completionTokens).toBeGreaterThan(0);
  });

  it("refuses calls after close with RFX_NOT_READY", async () => {
    const other = await createReflexia({
      env: {},
      home: tiny.home,
      ensureDefaultModel: false,
      documentStore: false,
      models: { default: TINY },
    });
    await expect(other.documents.list()).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    await other.close();
    await expect(other.generate("x")).rejects.toMatchObject({ code: "RFX_NOT_READY" });
  });
});
