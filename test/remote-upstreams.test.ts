// Remote variants against real upstreams on loopback: two more Reflexia processes (real engine, tiny synthetic
// model) and, when LLAMA_SERVER names a binary, llama-server itself, behind a front server with auth and named
// keys. Checks routing spread, failover when an endpoint dies mid-run, recovery, abort propagation, the official
// clients, adaptive choice between a local and a remote variant, and per-key usage against the responses.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.ts";
import { startServer, type RunningServer } from "../src/main.ts";
import { createModelStore } from "../src/registry/index.ts";
import { waitFor } from "./support/server-fixture.ts";

const BIN = join(import.meta.dirname, "..", "bin", "reflexia.js");
const COMPLEX =
  "Implement a thread-safe LRU cache in TypeScript with O(1) get/put, then prove its amortized complexity:\n```ts\nclass LRU<K, V> { get(k: K): V | undefined { /* TODO */ } }\n```\nDerive $T(n) = \\sum_{i=1}^{n} O(1) = O(n)$ and explain the invariants, edge cases and a benchmark plan.";
const KEYS = { ops: "ops-secret-1", alice: "alice-secret-2", bob: "bob-secret-3", carol: "carol-secret-4" };
const UPSTREAM_KEY = "upstream-key-never-shown";

interface Upstream {
  child: ChildProcess;
  url: string;
  metricsUrl: string;
  port: number;
  home: string;
}

/** `reflexia serve` in its own process on loopback; resolves once it prints where it listens. */
function spawnUpstream(home: string, port = 0): Promise<Upstream> {
  const child = spawn(process.execPath, [BIN, "--home", home, "serve"], {
    cwd: home,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      HOST: "127.0.0.1",
      PORT: String(port),
      METRICS_PORT: "0",
      DEFAULT_MODEL: "up",
      PARALLEL: "2",
      CONTEXT_SIZE: "1024",
      THREAD_POOL_SIZE: "1",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let err = "";
    const onData = (d: Buffer): void => {
      err += d;
      const m = /listening on (http:\/\/\S+) · metrics on (http:\/\/\S+)\/metrics/.exec(err);
      if (m) {
        child.stderr!.off("data", onData);
        child.stderr!.resume();
        resolve({ child, url: m[1], metricsUrl: m[2], port: Number(new URL(m[1]).port), home });
      }
    };
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`upstream exited with ${code}: ${err}`)));
  });
}

const stop = (u: Upstream | undefined): Promise<void> =>
  new Promise((resolve) => {
    if (!u || u.child.exitCode !== null || u.child.signalCode !== null) return resolve();
    u.child.once("exit", () => resolve());
    u.child.kill("SIGKILL");
  });

const metric = (text: string, name: string, labels: Record<string, string>): number => {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.split(" ").pop());
  }
  return sum;
};

let root: string;
let ups: Upstream[] = [];
let front: RunningServer;
let llama: { child: ChildProcess; url: string } | undefined;
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

async function frontMetrics(): Promise<string> {
  return (await fetch(`${front.metricsUrl}/metrics`, { headers: auth(KEYS.ops) })).text();
}
async function endpoints(): Promise<{ endpoint: string; healthy: boolean; in_flight: number }[]> {
  const s = (await (await fetch(`${front.url}/api/status`, { headers: auth(KEYS.ops) })).json()) as {
    remote: { variant: string; endpoints: { endpoint: string; healthy: boolean; in_flight: number }[] }[];
  };
  return s.remote.find((r) => r.variant === "mix:f16")?.endpoints ?? [];
}
async function chat(key: string, body: Record<string, unknown>) {
  const res = await fetch(`${front.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth(key) },
    body: JSON.stringify({ messages: [{ role: "user", content: "Tell a story" }], max_tokens: 24, ...body }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "rfx-remote-"));
  const upHome = join(root, "up-a");
  await createModelStore({ home: upHome }).synth({ shape: "tiny", quant: ["f16"], name: "up", seed: 5 });
  await cp(upHome, join(root, "up-b"), { recursive: true });
  ups = await Promise.all([spawnUpstream(upHome), spawnUpstream(join(root, "up-b"))]);

  const frontHome = join(root, "front");
  await createModelStore({ home: frontHome }).synth({ shape: "tiny", quant: ["q4_0"], name: "mix", seed: 5 });
  const keysFile = join(root, "keys");
  await writeFile(
    keysFile,
    Object.entries(KEYS)
      .map(([n, k]) => `${n}:${k}`)
      .join("\n") + "\n",
  );
  process.env.REFLEXIA_UPSTREAM_KEY_TEST = UPSTREAM_KEY;
  const loaded = loadConfig({
    env: {},
    overrides: {
      home: frontHome,
      "models.default": "mix",
      "server.host": "127.0.0.1",
      "server.port": 0,
      "server.metrics_port": 0,
      "scheduler.parallel": 2,
      "models.context_size": 2048,
      "log.level": "warn",
      "auth.enabled": true,
      "auth.keys_file": keysFile,
      "auth.quotas": [{ key: "carol", requests: 1, window_seconds: 3600 }],
      "remote.health_interval_seconds": 0.2,
      "remote.eject_base_seconds": 0.1,
      "remote.models": [
        {
          name: "mix",
          tag: "f16",
          urls: ups.map((u) => u.url),
          upstream_model: "up:f16",
          api_key_env: "REFLEXIA_UPSTREAM_KEY_TEST",
          max_concurrent: 4,
        },
      ],
    },
  });
  front = await startServer({ loaded, logger: false, webDir: null });
  await front.ready;
}, 120_000);

afterAll(async () => {
  await front?.close();
  await Promise.all(ups.map(stop));
  if (llama) llama.child.kill("SIGKILL");
  delete process.env.REFLEXIA_UPSTREAM_KEY_TEST;
  await rm(root, { recursive: true, force: true });
});

describe("a remote variant in the catalog", () => {
  it("is listed with its kind everywhere local variants are, and /api/show never carries the key", async () => {
    const h = auth(KEYS.ops);
    const tags = (await (await fetch(`${front.url}/api/tags`, { headers: h })).json()) as { models: any[] };
    expect(tags.models.find((m) => m.name === "mix:f16")).toMatchObject({ kind: "remote" });
    expect(tags.models.find((m) => m.name === "mix:q4_0")).toMatchObject({ kind: "local" });
    const v1 = (await (await fetch(`${front.url}/v1/models`, { headers: h })).json()) as { data: any[] };
    expect(v1.data.find((m) => m.id === "mix:f16")).toMatchObject({ kind: "remote" });
    const show = await fetch(`${front.url}/api/show`, {
      method: "POST",
      headers: { ...h, "content-type": "application/json" },
      body: JSON.stringify({ model: "mix:f16" }),
    });
    const text = await show.text();
    expect(show.status).toBe(200);
    expect(JSON.parse(text).reflexia).toMatchObject({
      kind: "remote",
      remote: { endpoints: ups.map((u) => `${u.url}/v1`), upstream_model: "up:f16", api_key: "env" },
    });
    expect(text).not.toContain(UPSTREAM_KEY);
    expect(text).not.toContain("REFLEXIA_UPSTREAM_KEY_TEST");
    // Tools are relayed to the upstream; embeddings are not.
    expect(JSON.parse(text).capabilities).toEqual(["completion", "tools"]);
  });

  it("/api/create {remote} declares one, refusing api_key_file by name", async () => {
    const post = (body: unknown) =>
      fetch(`${front.url}/api/create`, {
        method: "POST",
        headers: { ...auth(KEYS.ops), "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const bad = await post({
      model: "other:f16",
      remote: { urls: [ups[0].url], upstream_model: "up:f16", api_key_file: "/etc/passwd" },
    });
    expect(bad.status).toBe(400);
    // An Ollama route: Ollama's error shape, the message as a string.
    expect(((await bad.json()) as any).error).toContain(
      "api_key_file is accepted only from the CLI or the config file",
    );
    const ok = await post({
      model: "other:f16",
      stream: false,
      remote: { urls: [ups[0].url], upstream_model: "up:f16" },
    });
    expect(ok.status).toBe(200);
    const r = await chat(KEYS.ops, { model: "other:f16" });
    expect(r.status).toBe(200);
    expect(r.body.reflexia).toMatchObject({ kind: "remote", variant: "other:f16" });
    // A taken name is refused naming this API's switch, then replaced with it.
    const again = { model: "other:f16", stream: false, remote: { urls: [ups[1].url], upstream_model: "up:f16" } };
    const taken = await post(again);
    expect(taken.status).toBe(409);
    expect(((await taken.json()) as any).error).toBe(
      "model other:f16 already exists; set remote.force to true to replace it with this remote variant",
    );
    const forced = await post({ ...again, remote: { ...again.remote, force: true } });
    expect(forced.status).toBe(200);
  });
});

// Fixed seeds: a random-weights model samples its end-of-text token first now and then, and the counts checked
// here must not depend on that draw.
describe("official clients through a remote variant", () => {
  it("openai: buffered and streamed chat and completions", async () => {
    const openai = new OpenAI({ baseURL: `${front.url}/v1`, apiKey: KEYS.ops, maxRetries: 0 });
    const r = await openai.chat.completions.create({
      model: "mix:f16",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Say hi" },
      ],
      max_tokens: 8,
      seed: 1,
    });
    expect(typeof r.choices[0].message.content).toBe("string");
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(8);
    const stream = await openai.chat.completions.create({
      model: "mix:f16",
      messages: [{ role: "user", content: "Count" }],
      max_tokens: 6,
      seed: 1,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usage = c.usage;
    }
    // Random weights: a piece can be a partial UTF-8 byte, so the counts, not the text length, say tokens came.
    expect(typeof text).toBe("string");
    expect(usage!.completion_tokens).toBeGreaterThan(0);
    const c = await openai.completions.create({ model: "mix:f16", prompt: "Once upon", max_tokens: 5, seed: 1 });
    expect(c.usage!.completion_tokens).toBeGreaterThan(0);
    expect(typeof c.choices[0].text).toBe("string");
  });

  it("ollama: buffered and streamed chat and generate (NDJSON out of SSE in)", async () => {
    const ollama = new Ollama({ host: front.url, headers: auth(KEYS.ops) });
    const g = await ollama.generate({ model: "mix:f16", prompt: "Hello", options: { num_predict: 6 } });
    expect((g.response ?? "").length).toBeGreaterThan(0);
    expect(g.eval_count).toBeGreaterThan(0);
    let streamed = "";
    let done = false;
    for await (const part of await ollama.chat({
      model: "mix:f16",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      options: { num_predict: 6 },
    })) {
      streamed += part.message.content;
      done ||= part.done;
    }
    expect(streamed.length).toBeGreaterThan(0);
    expect(done).toBe(true);
  });
});

describe("structured output, tools and logprobs through a remote variant", () => {
  const weather = {
    type: "function" as const,
    function: {
      name: "get_weather",
      description: "Weather in a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string", enum: ["Oslo", "Rome"] } },
        required: ["city"],
        additionalProperties: false,
      },
    },
  };
  const schema = {
    type: "object",
    properties: { n: { type: "integer" } },
    required: ["n"],
    additionalProperties: false,
  };

  it("openai: response_format, a forced tool call (chat streamed and not, Responses), a tool turn, logprobs; raw GBNF refused", async () => {
    const openai = new OpenAI({ baseURL: `${front.url}/v1`, apiKey: KEYS.ops, maxRetries: 0 });
    // The upstream (a Reflexia with a random-weights model) holds the reply to the schema: valid JSON or nothing.
    const j = await openai.chat.completions.create({
      model: "mix:f16",
      messages: [{ role: "user", content: "A number" }],
      max_tokens: 96,
      response_format: { type: "json_schema", json_schema: { name: "n", schema, strict: true } },
    });
    expect(Number.isInteger(JSON.parse(j.choices[0].message.content!).n)).toBe(true);

    // The tiny model's vocabulary is nearly one token per character: a call takes 40–50 tokens.
    const t = await openai.chat.completions.create({
      model: "mix:f16",
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      max_tokens: 96,
      tools: [weather],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    expect(t.choices[0].finish_reason).toBe("tool_calls");
    const call = t.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe("get_weather");
    expect(["Oslo", "Rome"]).toContain(JSON.parse(call.function.arguments).city);

    const streamed = await openai.chat.completions.create({
      model: "mix:f16",
      messages: [{ role: "user", content: "Weather in Rome?" }],
      max_tokens: 96,
      tools: [weather],
      tool_choice: "required",
      stream: true,
    });
    let name = "";
    let args = "";
    let finish: string | null = null;
    for await (const c of streamed) {
      for (const d of c.choices[0]?.delta?.tool_calls ?? []) {
        name += d.function?.name ?? "";
        args += d.function?.arguments ?? "";
      }
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe("get_weather");
    expect(["Oslo", "Rome"]).toContain(JSON.parse(args).city);
    expect(finish).toBe("tool_calls");

    // The next turn carries the call and its result upstream (assistant tool_calls, tool_call_id).
    const next = await openai.chat.completions.create({
      model: "mix:f16",
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: "sunny" },
      ],
      max_tokens: 6,
      tools: [weather],
      tool_choice: "none",
      logprobs: true,
      top_logprobs: 2,
    });
    const lps = next.choices[0].logprobs!.content!;
    expect(lps).toHaveLength(next.usage!.completion_tokens);
    for (const l of lps) {
      expect(l.logprob).toBeLessThanOrEqual(0);
      expect(l.top_logprobs).toHaveLength(2);
    }

    const resp = await openai.responses.create({
      model: "mix:f16",
      input: "Weather in Oslo?",
      max_output_tokens: 96,
      tools: [{ type: "function", strict: true, ...weather.function }],
      tool_choice: { type: "function", name: "get_weather" },
    });
    const item = resp.output.find((o) => o.type === "function_call");
    expect(item?.name).toBe("get_weather");
    expect(["Oslo", "Rome"]).toContain(JSON.parse(item!.arguments).city);

    const raw = await chat(KEYS.ops, { model: "mix:f16", grammar: 'root ::= "a"' });
    expect(raw.status).toBe(400);
    expect(raw.body.error.message).toMatch(/grammar \(raw GBNF.*remote variant/);
  });

  it("ollama: format (a JSON Schema) and tools", async () => {
    const ollama = new Ollama({ host: front.url, headers: auth(KEYS.ops) });
    const f = await ollama.chat({
      model: "mix:f16",
      messages: [{ role: "user", content: "A number" }],
      format: schema,
      options: { num_predict: 96 },
    });
    expect(Number.isInteger(JSON.parse(f.message.content).n)).toBe(true);
    // Ollama has no tool_choice: the model may answer in text. The upstream's lazy call grammar makes any call it
    // starts valid, so what comes back is either text or a well-formed call of get_weather.
    const t = await ollama.chat({
      model: "mix:f16",
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      tools: [weather],
      options: { num_predict: 24 },
    });
    for (const c of t.message.tool_calls ?? []) expect(c.function.name).toBe("get_weather");
    expect(t.done).toBe(true);
  });
});

describe("routing across endpoints", () => {
  it("spreads concurrent requests over both endpoints", async () => {
    const before = await frontMetrics();
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => chat(KEYS.ops, { model: "mix:f16", seed: i })));
    expect(rs.map((r) => r.status)).toEqual(Array(8).fill(200));
    const after = await frontMetrics();
    for (const u of ups) {
      const l = { endpoint: `${u.url}/v1`, outcome: "ok" };
      expect(metric(after, "reflexia_upstream_requests_total", l)).toBeGreaterThan(
        metric(before, "reflexia_upstream_requests_total", l),
      );
    }
  });

  it("a client abort cancels the upstream generation (the upstream's own metrics show it)", async () => {
    const cancelledOnUpstreams = async () => {
      let n = 0;
      for (const u of ups)
        n += metric(await (await fetch(`${u.metricsUrl}/metrics`)).text(), "reflexia_generations_total", {
          finish_reason: "cancelled",
        });
      return n;
    };
    const before = await cancelledOnUpstreams();
    // The tiny model decodes hundreds of tokens a second: a reply may end by itself before the client goes away, or
    // the upstream may finish decoding while the front is still relaying what it wrote. Then nothing was left to
    // cancel, and the request is sent again (at most 5 times) until the upstream counts a cancelled generation.
    let cancelled = false;
    for (let attempt = 0; attempt < 5 && !cancelled; attempt++) {
      const ac = new AbortController();
      const res = await fetch(`${front.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth(KEYS.ops) },
        body: JSON.stringify({
          model: "mix:f16",
          messages: [{ role: "user", content: "Go" }],
          max_tokens: 900,
          stream: true,
        }),
        signal: ac.signal,
      });
      const reader = res.body!.getReader();
      let seen = "";
      let ended = false;
      // The first generated piece through: the upstream is decoding when the client goes away.
      while (!ended && !seen.includes('"delta":{"content"')) {
        const chunk = await reader.read();
        if (chunk.value) seen += new TextDecoder().decode(chunk.value);
        ended = chunk.done || seen.includes("[DONE]");
      }
      if (ended) continue;
      ac.abort();
      cancelled = await waitFor(async () => (await cancelledOnUpstreams()) > before, "a cancelled generation", 5_000)
        .then(() => true)
        .catch(() => false);
    }
    expect(cancelled, "the upstream counted a generation cancelled by the client going away").toBe(true);
    await waitFor(async () => (await endpoints()).every((e) => e.in_flight === 0), "no request in flight");
  });

  it("killing an endpoint mid-run loses no request that had not started streaming; it recovers after a restart", async () => {
    const victim = ups[0];
    const label = `${victim.url}/v1`;
    const runs = Array.from({ length: 10 }, (_, i) =>
      chat(KEYS.ops, { model: "mix:f16", max_tokens: 48, seed: 100 + i }),
    );
    await waitFor(
      async () => (await endpoints()).some((e) => e.endpoint === label && e.in_flight > 0),
      "traffic on the victim",
    );
    const inFlightAtKill = (await endpoints()).find((e) => e.endpoint === label)?.in_flight ?? 0;
    await stop(victim);
    const rs = await Promise.all(runs);
    // A request whose text had already started on the victim cannot move (the answer would restart inside itself):
    // it fails as a 502 naming the victim. Every other request is answered by the other endpoint.
    const failed = rs.filter((r) => r.status !== 200);
    for (const r of failed) {
      expect(r.status).toBe(502);
      expect(JSON.stringify(r.body)).toContain(label);
    }
    expect(failed.length).toBeLessThanOrEqual(inFlightAtKill);
    expect(failed.length).toBeLessThan(rs.length);
    expect(rs.filter((r) => r.status === 200).every((r) => r.body.usage.completion_tokens > 0)).toBe(true);
    await waitFor(async () => (await endpoints()).find((e) => e.endpoint === label)?.healthy === false, "ejection");
    const m = await frontMetrics();
    // This variant's series: "other:f16" (declared above on the same endpoint) has a pool of its own, whose health
    // check may not have run since the kill.
    expect(metric(m, "reflexia_upstream_endpoint_healthy", { endpoint: label, model: "mix" })).toBe(0);
    expect(
      ["connect", "reset", "stream"]
        .map((kind) => metric(m, "reflexia_upstream_errors_total", { endpoint: label, kind }))
        .reduce((x, y) => x + y),
    ).toBeGreaterThan(0);

    ups[0] = await spawnUpstream(victim.home, victim.port);
    await waitFor(
      async () => (await endpoints()).find((e) => e.endpoint === label)?.healthy === true,
      "recovery",
      60_000,
    );
    const before = metric(await frontMetrics(), "reflexia_upstream_requests_total", { endpoint: label, outcome: "ok" });
    await Promise.all(Array.from({ length: 4 }, (_, i) => chat(KEYS.ops, { model: "mix:f16", seed: 200 + i })));
    const after = metric(await frontMetrics(), "reflexia_upstream_requests_total", { endpoint: label, outcome: "ok" });
    expect(after).toBeGreaterThan(before);
  }, 120_000);
});

describe("adaptive quantization across local and remote variants", () => {
  it("a simple prompt runs on the local q4_0, a complex one on the remote f16, and the answer says why", async () => {
    const simple = await chat(KEYS.ops, { model: "mix", messages: [{ role: "user", content: "Hi! How are you?" }] });
    expect(simple.body.reflexia).toMatchObject({ variant: "mix:q4_0", kind: "local", reason: "complexity_low" });
    expect(simple.body.reflexia.detail).toContain("runs locally");
    const complex = await chat(KEYS.ops, { model: "mix", messages: [{ role: "user", content: COMPLEX }] });
    expect(complex.status).toBe(200);
    expect(complex.body.reflexia).toMatchObject({ variant: "mix:f16", kind: "remote", reason: "complexity_high" });
    expect(complex.body.reflexia.detail).toContain("remote (2 endpoint(s)");
    expect(complex.headers.get("x-reflexia-variant")).toBe("mix:f16");
  });
});

describe("usage per key", () => {
  it("metrics and `reflexia usage` show exactly the tokens the responses reported, per key name", async () => {
    const expected: Record<string, { prompt: number; completion: number; requests: number }> = {};
    const add = (k: string, p: number, c: number) => {
      const e = (expected[k] ??= { prompt: 0, completion: 0, requests: 0 });
      e.prompt += p;
      e.completion += c;
      e.requests++;
    };
    for (const [name, n] of [
      ["alice", 2],
      ["bob", 1],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const r = await chat(KEYS[name], { model: "mix:f16", max_tokens: 5 + i });
        add(name, r.body.usage.prompt_tokens, r.body.usage.completion_tokens);
      }
    }
    const ollama = new Ollama({ host: front.url, headers: auth(KEYS.alice) });
    let last: { prompt_eval_count: number; eval_count: number } | undefined;
    for await (const p of await ollama.generate({
      model: "mix:f16",
      prompt: "Hey",
      stream: true,
      options: { num_predict: 4 },
    }))
      if (p.done) last = p;
    add("alice", last!.prompt_eval_count, last!.eval_count);

    await waitFor(
      async () => metric(await frontMetrics(), "reflexia_key_requests_total", { key: "alice" }) === 3,
      "alice's requests",
    );
    await waitFor(
      async () => metric(await frontMetrics(), "reflexia_key_requests_total", { key: "bob" }) === 1,
      "bob's request",
    );
    const m = await frontMetrics();
    const cli = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [BIN, "--home", front.config.home, "usage", "--json", "--since", "1h"],
        { env: { PATH: process.env.PATH } },
        (e, out) => (e ? reject(e) : resolve(out)),
      ),
    );
    const rows = (
      JSON.parse(cli) as {
        keys: { key: string; requests: number; errors: number; prompt_tokens: number; completion_tokens: number }[];
      }
    ).keys;
    for (const [name, e] of Object.entries(expected)) {
      expect(e.prompt).toBeGreaterThan(0);
      expect(metric(m, "reflexia_tokens_total", { key: name, type: "prompt" })).toBe(e.prompt);
      expect(metric(m, "reflexia_tokens_total", { key: name, type: "completion" })).toBe(e.completion);
      expect(rows.find((r) => r.key === name)).toEqual(
        expect.objectContaining({
          requests: e.requests,
          errors: 0,
          prompt_tokens: e.prompt,
          completion_tokens: e.completion,
        }),
      );
    }
  });

  it("a key past its request quota gets 429 with Retry-After; a wrong key 401", async () => {
    expect((await chat(KEYS.carol, { model: "mix:f16" })).status).toBe(200);
    const refused = await chat(KEYS.carol, { model: "mix:f16" });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("RFX_QUOTA_EXCEEDED");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await chat("nope", { model: "mix:f16" })).status).toBe(401);
  });
});

/** A free loopback port (llama-server takes no port 0). */
const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe.skipIf(!process.env.LLAMA_SERVER)("llama-server as an upstream (LLAMA_SERVER)", () => {
  it("serves a remote variant through the official openai client, streamed and not", async () => {
    const path = (await createModelStore({ home: ups[1].home }).resolve("up:f16")).path;
    const port = await freePort();
    const child = spawn(
      process.env.LLAMA_SERVER!,
      ["-m", path, "--port", String(port), "--host", "127.0.0.1", "-c", "1024", "-np", "2", "-t", "1"],
      {
        stdio: "ignore",
      },
    );
    llama = { child, url: `http://127.0.0.1:${port}` };
    await waitFor(
      async () => (await fetch(`${llama!.url}/health`).catch(() => undefined))?.status === 200,
      "llama-server",
      60_000,
    );
    const created = await fetch(`${front.url}/api/create`, {
      method: "POST",
      headers: { ...auth(KEYS.ops), "content-type": "application/json" },
      body: JSON.stringify({ model: "llama:f16", stream: false, remote: { urls: [llama.url], upstream_model: "up" } }),
    });
    expect(created.status).toBe(200);
    // Greedy: llama-server parses each answer (tool calls, content format), and a random-weight model's gibberish
    // can fail that parse at some sampled outputs (an error event, passed on as RFX_UPSTREAM_ERROR); at temperature 0
    // the output of this model is fixed.
    const openai = new OpenAI({ baseURL: `${front.url}/v1`, apiKey: KEYS.ops, maxRetries: 0 });
    const ask = {
      model: "llama:f16",
      messages: [{ role: "user" as const, content: "Hello" }],
      max_tokens: 6,
      temperature: 0,
    };
    const r = await openai.chat.completions.create(ask);
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(r.usage!.prompt_tokens).toBeGreaterThan(0);
    let text = "";
    // One token fewer, so the response cache cannot answer it: greedy output is a prefix of the longer one.
    for await (const c of await openai.chat.completions.create({ ...ask, max_tokens: 5, stream: true }))
      text += c.choices[0]?.delta?.content ?? "";
    expect(text.length).toBeGreaterThan(0);
    expect(r.choices[0].message.content!.startsWith(text)).toBe(true);
  }, 90_000);
});
