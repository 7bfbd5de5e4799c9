// Ollama parity over a real listening server (real engine, tiny synthetic model): the official `ollama` npm
// client reads our errors, Ollama's README curl bodies (no or form Content-Type) work unchanged.
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request as httpRequest } from "node:http";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startServer, type RunningServer } from "../src/main.ts";
import { SYNTHETIC_CHAT_TEMPLATE } from "../src/gguf/index.ts";
import { UPLOAD_KEEP_MS } from "../src/registry/index.ts";
import { cleanupTempDirs, makeTempDir, writeTinyGguf } from "./registry-fixtures.ts";
import { sha256Digest, startLoopbackRegistry, type LoopbackRegistry } from "./support/loopback-registry.ts";
import { createTinyHome, liveServerConfig, parseNdjson, TINY, type TinyHome } from "./support/server-fixture.ts";

let home: TinyHome;
let server: RunningServer;
let ollama: Ollama;
let registry: LoopbackRegistry;
let pulledGguf: Buffer;
const abandonedUpload = () => join(home.store.root, "uploads", `sha256-${"0".repeat(64)}`);

beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
  pulledGguf = (await writeTinyGguf(makeTempDir(), 3)).bytes;
  registry = await startLoopbackRegistry([
    {
      repository: "library/pulled",
      tag: "latest",
      layers: [
        { mediaType: "application/vnd.ollama.image.model", bytes: pulledGguf },
        { mediaType: "application/vnd.ollama.image.system", bytes: Buffer.from("You answer in one word.") },
      ],
    },
  ]);
  // An upload left from before this start, older than the window: the server deletes it when it starts.
  mkdirSync(join(home.store.root, "uploads"), { recursive: true });
  writeFileSync(abandonedUpload(), "abandoned");
  const past = new Date(Date.now() - UPLOAD_KEEP_MS - 60_000);
  utimesSync(abandonedUpload(), past, past);
  server = await startServer({
    loaded: liveServerConfig(home.home, {
      "models.context_size": 1024,
      "registry.ollama_base_url": registry.url,
    }),
    store: home.store,
    logger: false,
  });
  await server.ready;
  ollama = new Ollama({ host: server.url });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await registry?.close();
  await home?.cleanup();
  await cleanupTempDirs();
});

/** A POST as curl -d sends it: the given Content-Type header, or none at all. */
function rawPost(path: string, body: string, contentType?: string): Promise<{ status: number; text: string }> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: "POST",
        headers: { ...(contentType ? { "content-type": contentType } : {}), "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("Ollama error shape", () => {
  it("the ollama client reports an unknown model by its message", async () => {
    const err = await ollama.generate({ model: "nope", prompt: "hi", stream: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).toBe('ResponseError: model "nope" not found');
    expect((err as { status_code?: number }).status_code).toBe(404);
    const chatErr = await ollama.chat({ model: "nope", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(String(chatErr)).toBe('ResponseError: model "nope" not found');
    const showErr = await ollama.show({ model: "nope" }).catch((e) => e);
    expect(String(showErr)).toBe('ResponseError: model "nope" not found');
  });

  it("errors are {error: message, code} on Ollama routes", async () => {
    const r = await rawPost("/api/chat", JSON.stringify({ model: "nope", messages: [] }), "application/json");
    expect(r.status).toBe(404);
    expect(JSON.parse(r.text)).toEqual({ error: 'model "nope" not found', code: "RFX_MODEL_NOT_FOUND" });
    const bad = await rawPost("/api/generate", "{", undefined);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ code: "RFX_INVALID_JSON" });
    expect(typeof JSON.parse(bad.text).error).toBe("string");
  });

  it("native routes keep the {error: {code, message}} shape", async () => {
    const r = await rawPost(
      "/v1/chat/completions",
      JSON.stringify({ model: "nope", messages: [] }),
      "application/json",
    );
    expect(JSON.parse(r.text).error.code).toBeDefined();
  });
});

describe("Ollama README curl examples", () => {
  it("generate with curl -d (form Content-Type) and with no Content-Type", async () => {
    const body = JSON.stringify({
      model: TINY,
      prompt: "Why is the sky blue?",
      stream: false,
      options: { num_predict: 4 },
    });
    for (const ct of ["application/x-www-form-urlencoded", undefined]) {
      const r = await rawPost("/api/generate", body, ct);
      expect(r.status).toBe(200);
      const j = JSON.parse(r.text);
      expect(j.done).toBe(true);
      expect(typeof j.response).toBe("string");
      expect(j.eval_count).toBeGreaterThan(0);
    }
  });

  it("streamed chat with curl -d", async () => {
    const r = await rawPost(
      "/api/chat",
      JSON.stringify({
        model: TINY,
        messages: [{ role: "user", content: "why is the sky blue?" }],
        options: { num_predict: 3 },
      }),
      "application/x-www-form-urlencoded",
    );
    expect(r.status).toBe(200);
    const lines = parseNdjson(r.text);
    expect(lines.at(-1)).toMatchObject({ done: true });
    expect(lines.length).toBeGreaterThan(1);
  });

  it("show and embed with no Content-Type", async () => {
    const show = await rawPost("/api/show", JSON.stringify({ model: TINY }));
    expect(show.status).toBe(200);
    expect(JSON.parse(show.text).details.format).toBe("gguf");
    const embed = await rawPost("/api/embed", JSON.stringify({ model: TINY, input: "hello" }));
    expect(embed.status).toBe(200);
    expect(JSON.parse(embed.text).embeddings[0].length).toBeGreaterThan(0);
  });
});

describe("ollama.pull from a registry", () => {
  it("streams progress objects, then the pulled model generates", async () => {
    const events: { status: string; digest?: string; total?: number; completed?: number }[] = [];
    for await (const p of await ollama.pull({ model: "pulled", stream: true })) events.push(p);
    expect(events[0].status).toBe("pulling manifest");
    const digest = sha256Digest(pulledGguf);
    expect(events.filter((e) => e.digest === digest).at(-1)).toMatchObject({
      total: pulledGguf.length,
      completed: pulledGguf.length,
    });
    expect(events.at(-1)).toEqual({ status: "success" });
    const tags = await ollama.list();
    expect(tags.models.map((m) => m.name)).toContain("pulled:latest");
    const r = await ollama.generate({ model: "pulled", prompt: "hi", stream: false, options: { num_predict: 3 } });
    expect(r.done).toBe(true);
    expect(r.eval_count).toBeGreaterThan(0);
  });

  it("an unknown name is the client's ResponseError with a 404, before any stream", async () => {
    const err = await ollama.pull({ model: "nothing-here" }).catch((e: unknown) => e);
    expect(String(err)).toContain('model "nothing-here:latest" not found');
    expect((err as { status_code: number }).status_code).toBe(404);
  });

  it("push is refused with a documented 400", async () => {
    const err = await ollama.push({ model: TINY }).catch((e: unknown) => e);
    expect(String(err)).toContain("pushing models to a registry is not supported");
    expect((err as { status_code: number }).status_code).toBe(400);
  });
});

describe("blobs and create", () => {
  it("deletes at start an upload no create used for longer than UPLOAD_KEEP_MS", async () => {
    await vi.waitFor(() => expect(existsSync(abandonedUpload())).toBe(false), { timeout: 5000 });
  });

  it("uploads a GGUF by digest (checked), creates a model from it with system and parameters, shows and applies them", async () => {
    const bytes = (await writeTinyGguf(makeTempDir(), 9)).bytes;
    const digest = sha256Digest(bytes);
    const blobUrl = `${server.url}/api/blobs/${digest}`;
    expect((await fetch(blobUrl, { method: "HEAD" })).status).toBe(404);
    const wrong = await fetch(`${server.url}/api/blobs/${sha256Digest(Buffer.from("other"))}`, {
      method: "POST",
      body: new Uint8Array(bytes),
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ code: "RFX_DIGEST_MISMATCH" });
    expect((await fetch(blobUrl, { method: "POST", body: new Uint8Array(bytes) })).status).toBe(201);
    expect((await fetch(blobUrl, { method: "HEAD" })).status).toBe(200);

    const events: { status: string }[] = [];
    const create = {
      model: "made:latest",
      files: { "model.gguf": digest },
      system: "You are a pirate.",
      parameters: { num_predict: 2, temperature: 0, stop: ["\n\n"] },
      stream: true,
    } as Parameters<typeof ollama.create>[0] & { stream: true };
    for await (const e of await ollama.create(create)) events.push(e);
    expect(events.at(-1)).toEqual({ status: "success" });
    // The upload is gone (no second copy of the model's file); the digest is still there as the model's blob.
    expect(readdirSync(join(home.store.root, "uploads"))).toEqual([]);
    expect((await fetch(blobUrl, { method: "HEAD" })).status).toBe(200);

    const show = await ollama.show({ model: "made" });
    expect(show.system).toBe("You are a pirate.");
    expect(show.parameters).toContain("num_predict");
    expect(show.parameters).toContain("temperature");
    expect(show.modelfile).toContain('SYSTEM "You are a pirate."');
    expect(show.modelfile).toContain("PARAMETER num_predict 2");
    expect(show.capabilities).toContain("completion");
    expect(show.details.format).toBe("gguf");

    // Applied: the default num_predict bounds the answer, and the system prompt lengthens the prompt.
    const made = await ollama.generate({ model: "made", prompt: "hello there", stream: false });
    expect(made.eval_count).toBeLessThanOrEqual(2);
    const copy = await ollama.create({ model: "plain", from: "made", system: "" });
    expect(copy.status).toBe("success");
    const plain = await ollama.generate({
      model: "plain",
      prompt: "hello there",
      stream: false,
      options: { num_predict: 2 },
    });
    expect(made.prompt_eval_count).toBeGreaterThan(plain.prompt_eval_count);
  });

  it("create with files and quantize quantizes the uploaded f16 GGUF; a quantize above the file's precision is refused", async () => {
    const bytes = (await writeTinyGguf(makeTempDir(), 11)).bytes;
    const digest = sha256Digest(bytes);
    expect(
      (await fetch(`${server.url}/api/blobs/${digest}`, { method: "POST", body: new Uint8Array(bytes) })).status,
    ).toBe(201);
    const events: { status: string; completed?: number; total?: number }[] = [];
    const create = { model: "madeq8", files: { "model.gguf": digest }, quantize: "q8_0", stream: true } as Parameters<
      typeof ollama.create
    >[0] & { stream: true };
    for await (const e of await ollama.create(create)) events.push(e);
    expect(events.some((e) => e.status.startsWith("quantizing f16 model to q8_0"))).toBe(true);
    // Progress as Ollama's integers, each line a change (no repeats), completed rising to total.
    const quantizing = events.filter((e) => e.status.startsWith("quantizing"));
    for (const e of quantizing) {
      expect(e.total).toBe(100);
      expect(Number.isInteger(e.completed)).toBe(true);
    }
    expect(quantizing.map((e) => e.completed)).toEqual([...quantizing.map((e) => e.completed)].sort((x, y) => x! - y!));
    expect(new Set(quantizing.map((e) => e.completed)).size).toBe(quantizing.length);
    expect(quantizing.at(-1)?.completed).toBe(100);
    expect(events.at(-1)).toEqual({ status: "success" });
    // The f16 upload was only the quantize's input: deleted, so a client asks for it again (HEAD) before reusing it.
    expect((await fetch(`${server.url}/api/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
    const show = await ollama.show({ model: "madeq8" });
    expect(show.details.quantization_level).toBe("Q8_0");
    const listed = (await ollama.list()).models.find((m) => m.name === "madeq8:latest");
    expect(listed?.details.quantization_level).toBe("Q8_0");
    expect(listed?.size).toBeLessThan(bytes.length); // q8_0 is about half of f16
    const answer = await ollama.generate({ model: "madeq8", prompt: "hi", stream: false, options: { num_predict: 2 } });
    expect(answer.done).toBe(true);

    // The q8_0 file is now a stored blob: quantizing it up to f16 cannot restore precision, so it is refused by name.
    const q8Digest = `sha256:${listed!.digest}`;
    const up = await ollama
      .create({ model: "up", files: { "m.gguf": q8Digest }, quantize: "f16" } as never)
      .catch((e: unknown) => e);
    expect(String(up)).toContain("less precise than quantize f16");
    const unknown = await ollama
      .create({ model: "up", files: { "m.gguf": digest }, quantize: "q3_z" } as never)
      .catch((e: unknown) => e);
    expect(String(unknown)).toContain('unsupported quantize "q3_z"');
    expect((await ollama.list()).models.map((m) => m.name)).not.toContain("up:latest");
  });

  it("create refuses unknown parameters, a missing blob and adapters by name", async () => {
    const bad = await ollama.create({ model: "x", from: TINY, parameters: { mirostat: 2 } }).catch((e: unknown) => e);
    expect(String(bad)).toContain('"mirostat"');
    const missing = await ollama
      .create({ model: "y", files: { "m.gguf": sha256Digest(Buffer.from("nothing")) } } as never)
      .catch((e: unknown) => e);
    expect(String(missing)).toContain("upload it first");
    const tmpl = await ollama.create({ model: "z", from: TINY, template: "{{ .Prompt | upper }}" }).catch((e) => e);
    expect(String(tmpl)).toContain("template:");
    expect((await ollama.list()).models.map((m) => m.name)).not.toContain("x:latest");
  });

  it("create refuses parameters a request's options would be refused for, naming each; in-range ones, -2 included, run", async () => {
    const bad: [string, unknown][] = [
      ["temperature", -5],
      ["top_k", -1],
      ["top_p", 0],
      ["top_p", 5],
      ["seed", 1.5],
      ["repeat_penalty", 0],
      ["num_predict", 1.5],
      ["num_predict", 0],
      ["num_predict", -3],
      ["stop", [1]],
    ];
    for (const [name, value] of bad) {
      const e = await ollama
        .create({ model: "ranged", from: `${TINY}:q4_0`, parameters: { [name]: value } })
        .catch((x: unknown) => x);
      expect((e as { status_code?: number }).status_code, `${name} ${String(value)}`).toBe(400);
      expect(String(e)).toContain(`parameters.${name} must be`);
      // The request's own options are held to the same rules (not one code path for create, another for generate).
      if (name !== "stop") {
        const g = await ollama
          .generate({ model: `${TINY}:q4_0`, prompt: "hi", stream: false, options: { [name]: value } })
          .catch((x: unknown) => x);
        expect((g as { status_code?: number }).status_code, `options.${name} ${String(value)}`).toBe(400);
      }
    }
    expect((await ollama.list()).models.map((m) => m.name)).not.toContain("ranged:q4_0");
    // Any integer seed runs, taken modulo 2^32 as on the OpenAI routes (Ollama's seed is a 64-bit int).
    const negative = { temperature: 1, num_predict: 6 };
    const wrapped = await ollama.generate({
      model: `${TINY}:q4_0`,
      prompt: "seeded",
      stream: false,
      options: { ...negative, seed: -5 },
    });
    const plain = await ollama.generate({
      model: `${TINY}:q4_0`,
      prompt: "seeded",
      stream: false,
      options: { ...negative, seed: 2 ** 32 - 5 },
    });
    expect(wrapped.response).toBe(plain.response);

    // The edges are taken and every request runs; num_predict -2 fills the context as a request's -2 does.
    const edges = { top_p: 1, top_k: 0, seed: 0, repeat_penalty: 0.5, temperature: 0, num_predict: -2 };
    await ollama.create({ model: "ranged", from: `${TINY}:q4_0`, parameters: edges });
    const filled = await ollama.generate({ model: "ranged:q4_0", prompt: "hi", stream: false });
    const asked = await ollama.generate({
      model: `${TINY}:q4_0`,
      prompt: "hi",
      stream: false,
      options: { ...edges, num_predict: -2 },
    });
    expect(filled.done_reason).toBe("length");
    expect(filled.eval_count).toBe(asked.eval_count);
    // Past the default limit (the fair share of the 1024-token context when PARALLEL > 1): the context was filled.
    expect(filled.eval_count).toBeGreaterThan(512);
  }, 60_000);

  it("a template given with generate formats the prompt; options it cannot honour are refused by name", async () => {
    const a = await ollama.generate({
      model: TINY,
      prompt: "hi",
      template: "{{ .Prompt }}",
      stream: false,
      options: { num_predict: 1 },
    });
    const b = await ollama.generate({
      model: TINY,
      prompt: "hi",
      template: "A long preamble before the prompt. {{ .Prompt }}",
      stream: false,
      options: { num_predict: 1 },
    });
    expect(b.prompt_eval_count).toBeGreaterThan(a.prompt_eval_count);
    for (const [opt, word] of [
      [{ num_thread: 2 }, "num_thread"],
      [{ num_keep: 4 }, "num_keep"],
      [{ min_p: 0.1 }, "min_p"],
      [{ mirostat_tau: 1 }, "mirostat_tau"],
    ] as const) {
      const err = await ollama.generate({ model: TINY, prompt: "x", options: opt as never }).catch((e: unknown) => e);
      expect(String(err)).toContain(word);
      expect((err as { status_code: number }).status_code).toBe(400);
    }
    const ok = await ollama.generate({
      model: TINY,
      prompt: "x",
      stream: false,
      options: { min_p: 0, num_predict: 1 },
    });
    expect(ok.done).toBe(true);
    // Thinking is refused as Ollama refuses it for a model without the capability; a field Ollama does not define is
    // refused by name rather than ignored.
    const think = await ollama
      .chat({ model: TINY, messages: [{ role: "user", content: "x" }], think: true })
      .catch((e: unknown) => e);
    expect(String(think)).toContain("does not support thinking");
    expect((think as { status_code: number }).status_code).toBe(400);
    const unknown = await ollama.generate({ model: TINY, prompt: "x", shift: false } as never).catch((e: unknown) => e);
    expect(String(unknown)).toContain('"shift" not supported here');
    // Ollama's frequency and presence penalties are honoured: on a greedy answer they change what comes out.
    const greedy = { temperature: 0, num_predict: 8, repeat_penalty: 1 };
    const prompt = "the cat and the dog and the cat and the dog";
    const plain = await ollama.generate({ model: TINY, prompt, raw: true, stream: false, options: greedy });
    const penalized = await ollama.generate({
      model: TINY,
      prompt,
      raw: true,
      stream: false,
      options: { ...greedy, frequency_penalty: 2, presence_penalty: 2 },
    });
    expect(penalized.context).not.toEqual(plain.context);
  });
});

describe("show says what runs", () => {
  // model_info is a plain object on the wire (the client's type says Map); verbose is sent as given.
  type Show = Omit<Awaited<ReturnType<Ollama["show"]>>, "model_info"> & {
    model_info: Record<string, unknown>;
    reflexia: { template_source: string };
  };
  const show = async (model: string, verbose = false) =>
    (await ollama.show({ model, ...(verbose ? { verbose } : {}) } as { model: string })) as unknown as Show;

  it("template: the GGUF's chat template that formats the prompt, or a stored Go template; capabilities as they work", async () => {
    const plain = await show(`${TINY}:q4_0`);
    expect(plain.template).toBe(SYNTHETIC_CHAT_TEMPLATE);
    expect(plain.reflexia.template_source).toBe("gguf");
    // Tools work on every local model whose prompt the engine's template makes; no FIM tokens here: no insert.
    expect(plain.capabilities).toEqual(["completion", "tools", "embedding"]);
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }];
    const called = await ollama.chat({
      model: `${TINY}:q4_0`,
      messages: [{ role: "user", content: "call f" }],
      tools,
      stream: false,
      options: { num_predict: 4 },
    });
    expect(called.done).toBe(true);

    await ollama.create({ model: "gotmpl", from: `${TINY}:q4_0`, template: "Q: {{ .Prompt }}\nA:" });
    const go = await show("gotmpl:q4_0");
    expect(go.template).toBe("Q: {{ .Prompt }}\nA:");
    expect(go.reflexia.template_source).toBe("modelfile");
    // A Go template is rendered without the tools: the model would never see them, so a chat with tools is refused.
    expect(go.capabilities).toEqual(["completion", "embedding"]);
    const refused = await ollama
      .chat({ model: "gotmpl:q4_0", messages: [{ role: "user", content: "call f" }], tools, stream: false })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ status_code: 400 });
    expect(String(refused)).toContain("gotmpl:q4_0 does not support tools");
  });

  it("insert when the model has fill-in-the-middle tokens, and a suffix then works", async () => {
    await home.store.synth({ shape: "tiny", quant: ["q8_0"], name: "fim", seed: 7, fim: true });
    expect((await show("fim:q8_0")).capabilities).toEqual(["completion", "tools", "insert", "embedding"]);
    const r = await ollama.generate({
      model: "fim:q8_0",
      prompt: "a",
      suffix: "b",
      stream: false,
      options: { num_predict: 2 },
    });
    expect(r.done).toBe(true);
  }, 60_000);

  it("model_info general.file_type is GGUF's integer (2 for q4_0, 7 for q8_0), verbose or not", async () => {
    expect((await show(`${TINY}:q4_0`)).model_info["general.file_type"]).toBe(2);
    expect((await show(`${TINY}:q4_0`, true)).model_info["general.file_type"]).toBe(2);
    await home.store.synth({ shape: "tiny", quant: ["q8_0"], name: "ft", seed: 7 });
    expect((await show("ft:q8_0")).model_info["general.file_type"]).toBe(7);
  }, 60_000);
});

describe("delete", () => {
  it("an untagged name deletes one variant, the one show reports for it (as Ollama deletes name:latest); verbose is refused", async () => {
    await ollama.copy({ source: `${TINY}:q4_0`, destination: "multi:a" });
    await ollama.copy({ source: `${TINY}:q4_0`, destination: "multi:b" });
    const shown = ((await ollama.show({ model: "multi" })) as unknown as { reflexia: { variant: string } }).reflexia
      .variant;
    expect(["multi:a", "multi:b"]).toContain(shown);
    const verbose = await fetch(`${server.url}/api/delete`, {
      method: "DELETE",
      body: JSON.stringify({ model: "multi", verbose: true }),
    });
    expect(verbose.status).toBe(400);
    expect((await verbose.json()).error).toContain('"verbose"');
    await ollama.delete({ model: "multi" });
    const names = (await ollama.list()).models.map((m) => m.name);
    expect(names.filter((n) => n.startsWith("multi:"))).toEqual(["multi:a", "multi:b"].filter((n) => n !== shown));
    await ollama.delete({ model: "multi" });
    expect((await ollama.list()).models.map((m) => m.name).filter((n) => n.startsWith("multi:"))).toEqual([]);
  });
});

describe("NAME:latest", () => {
  type Shown = { reflexia: { variant: string } };
  type Meta = { reflexia: { variant: string; reason: string } };
  it("with no variant tagged latest means the untagged NAME (show, the adaptive choice, delete); a stored latest tag wins", async () => {
    await ollama.create({ model: "mymodel", from: `${TINY}:q4_0` });
    expect((await ollama.list()).models.map((m) => m.name)).toContain("mymodel:q4_0");
    expect(((await ollama.show({ model: "mymodel:latest" })) as unknown as Shown).reflexia.variant).toBe(
      "mymodel:q4_0",
    );
    expect(((await ollama.show({ model: `${TINY}:latest` })) as unknown as Shown).reflexia.variant).toBe(
      `${TINY}:q4_0`,
    );
    // A request: what the untagged name gets (the policy's choice), not a pin.
    const ask = { messages: [{ role: "user", content: "hi" }], stream: false as const, options: { num_predict: 2 } };
    const untagged = (await ollama.chat({ model: `${TINY}`, ...ask })) as unknown as Meta;
    const latest = (await ollama.chat({ model: `${TINY}:latest`, ...ask })) as unknown as Meta;
    expect(latest.reflexia.reason).not.toBe("pinned");
    expect(latest.reflexia.reason).toBe(untagged.reflexia.reason);
    expect(latest.reflexia.variant).toBe(`${TINY}:q4_0`);
    const generated = await ollama.generate({ model: "mymodel:latest", prompt: "hi", options: { num_predict: 2 } });
    expect(generated.done).toBe(true);
    // A destination's latest is a real tag, and then it wins.
    await ollama.copy({ source: "mymodel", destination: "mymodel:latest" });
    expect((await ollama.list()).models.map((m) => m.name).filter((n) => n.startsWith("mymodel:"))).toEqual(
      expect.arrayContaining(["mymodel:latest", "mymodel:q4_0"]),
    );
    expect(((await ollama.show({ model: "mymodel:latest" })) as unknown as Shown).reflexia.variant).toBe(
      "mymodel:latest",
    );
    const pinned = (await ollama.chat({ model: "mymodel:latest", ...ask })) as unknown as Meta;
    expect(pinned.reflexia.reason).toBe("pinned");
    await ollama.delete({ model: "mymodel:latest" });
    // Now no latest is stored again: delete of NAME:latest deletes the variant show reports for NAME.
    expect((await ollama.list()).models.map((m) => m.name).filter((n) => n.startsWith("mymodel:"))).toEqual([
      "mymodel:q4_0",
    ]);
    await ollama.delete({ model: "mymodel:latest" });
    expect((await ollama.list()).models.map((m) => m.name).filter((n) => n.startsWith("mymodel:"))).toEqual([]);
    const gone = await ollama.show({ model: "mymodel:latest" }).catch((e: unknown) => e);
    expect(String(gone)).toContain('model "mymodel:latest" not found');
  });
});

describe("metrics of a deleted model", () => {
  it("its series leave the scrape when it is deleted", async () => {
    await ollama.copy({ source: `${TINY}:q4_0`, destination: "doomed:q4_0" });
    await ollama.generate({ model: "doomed:q4_0", prompt: "hi", stream: false, options: { num_predict: 2 } });
    const scrape = async () => (await fetch(`${server.metricsUrl}/metrics`)).text();
    expect(await scrape()).toMatch(/^reflexia_generated_tokens_total\{model="doomed",quantization="q4_0"\} [1-9]/m);
    await ollama.delete({ model: "doomed:q4_0" });
    expect(await scrape()).not.toContain('model="doomed"');
  });
});

describe("LangChain ChatOllama", () => {
  it("chats, streams, and surfaces errors readably", async () => {
    const { ChatOllama } = await import("@langchain/ollama");
    const chat = new ChatOllama({ baseUrl: server.url, model: `${TINY}:q4_0`, numPredict: 3, temperature: 0 });
    const answer = await chat.invoke("Say hi");
    expect(typeof answer.content).toBe("string");
    let pieces = 0;
    for await (const chunk of await chat.stream("Count")) if (typeof chunk.content === "string") pieces++;
    expect(pieces).toBeGreaterThan(0);
    const missing = await new ChatOllama({ baseUrl: server.url, model: "nope" }).invoke("hi").catch((e: unknown) => e);
    expect(String(missing)).toContain('model "nope" not found');
    expect(String(missing)).not.toContain("[object Object]");
    const refused = await new ChatOllama({ baseUrl: server.url, model: TINY, numThread: 2 })
      .invoke("hi")
      .catch((e: unknown) => e);
    expect(String(refused)).toContain("options.num_thread is not supported");
  });
});
