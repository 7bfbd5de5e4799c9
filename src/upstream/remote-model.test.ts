// The remote model and its pool against real HTTP servers on loopback that speak OpenAI SSE (scripted per test):
// retry before the first byte, no retry after it, 4xx passed on, abort closing the upstream request, routing,
// ejection with backoff and recovery by health check.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { ReflexiaError } from "../errors/index.ts";
import { createEndpointPool, type EndpointLease } from "./endpoint-pool.ts";
import { createRemoteModel } from "./remote-model.ts";

type Handler = (req: IncomingMessage, body: Record<string, unknown>, res: ServerResponse) => void;
const servers: Server[] = [];

async function serve(handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => handler(req, raw ? (JSON.parse(raw) as Record<string, unknown>) : {}, res));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`, server };
}
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** An OpenAI chat stream of `pieces`, with a usage event; `hold` keeps the stream open after the pieces. */
function sse(res: ServerResponse, pieces: string[], opts: { hold?: boolean; usage?: boolean } = {}): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  for (const p of pieces) res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: p } }] })}\n\n`);
  if (opts.hold) return;
  res.write(`data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: "length" }] })}\n\n`);
  if (opts.usage !== false)
    res.write(
      `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: pieces.length } })}\n\n`,
    );
  res.end("data: [DONE]\n\n");
}

function model(urls: string[], extra: { maxConcurrent?: number; now?: () => number } = {}) {
  const pool = createEndpointPool({
    endpoints: urls,
    maxConcurrent: extra.maxConcurrent ?? 4,
    healthIntervalMs: 3_600_000,
    ejectBaseMs: 1000,
    labels: { model: "m", quantization: "f16" },
    now: extra.now,
  });
  const m = createRemoteModel({
    path: "remote://m:f16",
    upstreamModel: "up",
    pool,
    apiKey: "k-123",
    timeoutMs: 5000,
    requestTimeoutMs: 10_000,
    parallel: 8,
    contextSize: 1024,
    extraBody: { cache_prompt: true, max_tokens: 1 },
  });
  return { pool, m };
}

describe("remote model", () => {
  it("sends the upstream model, sampling, key and extra body; reports text, usage and finish", async () => {
    let seen: { body: Record<string, unknown>; auth?: string } | undefined;
    const a = await serve((req, body, res) => {
      seen = { body, auth: req.headers.authorization };
      sse(res, ["Hel", "lo"]);
    });
    const { m, pool } = model([a.url]);
    const pieces: string[] = [];
    const r = await m.chat([{ role: "user", content: "hi" }], {
      maxTokens: 5,
      temperature: 0,
      onText: (t) => pieces.push(t),
    });
    expect(r).toMatchObject({ text: "Hello", finishReason: "length", promptTokens: 7, completionTokens: 2 });
    expect(pieces).toEqual(["Hel", "lo"]);
    // The request's own max_tokens wins over the variant's extra body; the extra fields still go.
    expect(seen!.body).toMatchObject({ model: "up", max_tokens: 5, temperature: 0, stream: true, cache_prompt: true });
    expect(seen!.body.messages).toEqual([{ role: "user", content: "hi" }]);
    expect(seen!.auth).toBe("Bearer k-123");
    // A request's own cache_prompt goes up over the extra body's.
    await m.chat([{ role: "user", content: "hi" }], { maxTokens: 5, cachePrompt: false });
    expect(seen!.body.cache_prompt).toBe(false);
    pool.close();
  });

  it("relays structured output, tools, tool turns and logprobs in OpenAI's terms, and hands calls back as text", async () => {
    const bodies: Record<string, unknown>[] = [];
    const a = await serve((_req, body, res) => {
      bodies.push(body);
      res.writeHead(200, { "content-type": "text/event-stream" });
      const ev = (choice: Record<string, unknown>) => res.write(`data: ${JSON.stringify({ choices: [choice] })}\n\n`);
      if (body.tools) {
        // A call streamed as the OpenAI API does: id, type and name first, the arguments in pieces.
        ev({
          delta: { tool_calls: [{ index: 0, id: "x", type: "function", function: { name: "f", arguments: "" } }] },
        });
        ev({ delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } });
        ev({ delta: { tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }, finish_reason: "tool_calls" });
      } else
        ev({
          delta: { content: "{}" },
          logprobs: { content: [{ token: "{}", logprob: -0.5, top_logprobs: [{ token: "{}", logprob: -0.5 }] }] },
        });
      res.end("data: [DONE]\n\n");
    });
    const { m, pool } = model([a.url]);
    const schema = { type: "object", properties: { n: { type: "integer" } } };
    const pieces: unknown[] = [];
    const r = await m.chat([{ role: "user", content: "hi" }], {
      grammar: { gbnf: "root ::= x", source: { kind: "json_schema", schema } },
      logprobs: 1,
      onText: (t, l) => pieces.push([t, l]),
    });
    expect(bodies[0]).toMatchObject({
      response_format: { type: "json_schema", json_schema: { schema } },
      logprobs: true,
      top_logprobs: 1,
    });
    expect(r.logprobs).toEqual([{ token: "{}", logprob: -0.5, top: [{ token: "{}", logprob: -0.5 }] }]);
    expect(pieces).toEqual([["{}", r.logprobs]]);

    const tools = [{ name: "f", description: "weather", parameters: { type: "object" } }];
    const t = await m.chat(
      [
        { role: "user", content: "weather?" },
        { role: "assistant", content: "", toolCalls: [{ id: "call_1", name: "f", arguments: { city: "Rome" } }] },
        { role: "tool", content: "sunny", toolCallId: "call_1", name: "f" },
      ],
      { tools, grammar: { gbnf: "root ::= x", source: { kind: "tool_call", choice: { name: "f" } } } },
    );
    expect(bodies[1]).toMatchObject({
      tools: [{ type: "function", function: { name: "f", description: "weather", parameters: { type: "object" } } }],
      tool_choice: { type: "function", function: { name: "f" } },
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"city":"Rome"}' } }],
        },
        { role: "tool", content: "sunny", tool_call_id: "call_1", name: "f" },
      ],
    });
    expect(t.text).toBe('<tool_call>{"name":"f","arguments":{"city":"Oslo"}}</tool_call>');
    expect(bodies[1]).not.toHaveProperty("response_format");

    // What has no OpenAI spelling is refused by name before anything is sent.
    await expect(m.chat([{ role: "user", content: "x" }], { grammar: { gbnf: 'root ::= "a"' } })).rejects.toThrow(
      /grammar \(raw GBNF/,
    );
    await expect(m.generate("x", { grammar: { gbnf: "root ::= x", source: { kind: "json_object" } } })).rejects.toThrow(
      /structured output on a raw prompt/,
    );
    await expect(m.generate("x", { contextTokens: [1, 2] })).rejects.toThrow(/context/);
    expect(bodies).toHaveLength(2);
    pool.close();
  });

  it("retries on another endpoint before the first byte, and ejects the failed one", async () => {
    const bad = await serve((_req, _b, res) => res.writeHead(503).end("overloaded"));
    const good = await serve((_req, _b, res) => sse(res, ["ok"]));
    const { m, pool } = model([bad.url, good.url]);
    for (let i = 0; i < 2; i++)
      expect((await m.chat([{ role: "user", content: "x" }], { onText: () => {} })).text).toBe("ok");
    const st = pool.status();
    expect(st[0]).toMatchObject({ healthy: false, consecutiveFailures: 1 });
    expect(st[0].lastError).toContain("HTTP 503");
    expect(st[1].healthy).toBe(true);
    pool.close();
  });

  it("does not retry once text reached the client: the broken stream is an RFX_UPSTREAM_ERROR", async () => {
    let calls = 0;
    const a = await serve((_req, _b, res) => {
      calls++;
      sse(res, ["partial"], { hold: true });
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const b = await serve((_req, _b, res) => {
      calls++;
      sse(res, ["whole"]);
    });
    const { m, pool } = model([a.url, b.url], { maxConcurrent: 1 });
    // Hold b busy-free but make a the first pick: both idle, rotation starts at a.
    const err = await m.chat([{ role: "user", content: "q" }], { onText: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReflexiaError);
    expect((err as ReflexiaError).code).toBe("RFX_UPSTREAM_ERROR");
    expect(calls).toBe(1);
    // Without a client stream (a buffered request) the same break is retried elsewhere.
    const r = await m.chat([{ role: "user", content: "q" }]);
    expect(r.text).toBe("whole");
    pool.close();
  });

  it("passes a 4xx on without retrying or ejecting", async () => {
    let calls = 0;
    const a = await serve((_req, _b, res) => {
      calls++;
      res.writeHead(400, { "content-type": "application/json" }).end('{"error":{"message":"bad field"}}');
    });
    const { m, pool } = model([a.url, a.url.replace("/v1", "/other")]);
    const err = (await m.generate("x").catch((e: unknown) => e)) as ReflexiaError;
    expect(err.code).toBe("RFX_UPSTREAM_ERROR");
    expect(err.message).toContain("bad field");
    expect(calls).toBe(1);
    expect(pool.status().every((e) => e.healthy)).toBe(true);
    pool.close();
  });

  it("an abort ends the upstream request and reports cancelled", async () => {
    let closed = false;
    const a = await serve((req, _b, res) => {
      sse(res, ["a"], { hold: true });
      res.on("close", () => (closed = true));
    });
    const { m, pool } = model([a.url]);
    const ac = new AbortController();
    const r = m.chat([{ role: "user", content: "q" }], { signal: ac.signal, onText: () => ac.abort() });
    expect((await r).finishReason).toBe("cancelled");
    await new Promise((res) => setTimeout(res, 50));
    expect(closed).toBe(true);
    expect(pool.status()[0]).toMatchObject({ healthy: true, inFlight: 0 });
    pool.close();
  });
});

describe("remote model: connections", () => {
  it("keeps the connection after [DONE], drops one held open past it, and survives a listener that throws", async () => {
    const ports: number[] = [];
    let holdAfterDone = false;
    const a = await serve((req, _b, res) => {
      ports.push(req.socket.remotePort!);
      if (!holdAfterDone) return sse(res, ["x", "y"]);
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: "z" } }] })}\n\n`);
      res.write("data: [DONE]\n\n"); // and the body stays open
    });
    const { m, pool } = model([a.url]);
    for (let i = 0; i < 3; i++) {
      expect((await m.chat([{ role: "user", content: "q" }])).text).toBe("xy");
      await new Promise((res) => setTimeout(res, 20)); // the body's end is read just after [DONE]
    }
    // Read to its end after [DONE], each answer gave its connection back for the next request.
    expect(new Set(ports).size).toBe(1);
    holdAfterDone = true;
    const t0 = performance.now();
    expect((await m.chat([{ role: "user", content: "q" }])).text).toBe("z");
    // The answer is complete at [DONE]: it does not wait for the body to close.
    expect(performance.now() - t0).toBeLessThan(900);
    // A listener throwing mid-stream ends the upstream response early; nothing is left to fail later.
    holdAfterDone = false;
    const thrown = await m
      .chat([{ role: "user", content: "q" }], {
        onText: () => {
          throw new Error("client gone");
        },
      })
      .catch((e: unknown) => e);
    expect((thrown as Error).message).toContain("client gone");
    await new Promise((res) => setTimeout(res, 1200));
    expect((await m.chat([{ role: "user", content: "q" }])).text).toBe("xy");
    pool.close();
  });
});

describe("endpoint pool", () => {
  it("picks the endpoint with the fewest in flight, waits at the cap, and fails fast with none healthy", async () => {
    let t = 0;
    const pool = createEndpointPool({
      endpoints: ["http://127.0.0.1:9/v1", "http://127.0.0.2:9/v1"],
      maxConcurrent: 1,
      healthIntervalMs: 3_600_000,
      ejectBaseMs: 1000,
      labels: { model: "m", quantization: "q" },
      now: () => t,
    });
    const l1 = await pool.acquire(new Set());
    const l2 = await pool.acquire(new Set());
    expect(new Set([l1.url, l2.url]).size).toBe(2);
    let third: EndpointLease | undefined;
    const waiting = pool.acquire(new Set()).then((l) => (third = l));
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBeUndefined();
    l2.release("ok");
    await waiting;
    expect(third!.url).toBe(l2.url);
    third!.release("http_5xx");

    l1.release("connect", "refused");
    // Both ejected: refused at once with the backoff as Retry-After (1 s for the first failure, 2 s beyond).
    const err = (await pool.acquire(new Set()).catch((e: unknown) => e)) as ReflexiaError;
    expect(err.code).toBe("RFX_UPSTREAM_UNAVAILABLE");
    expect(err.details?.retryAfterSeconds).toBe(1);
    // After the backoff an ejected endpoint gets a trial request (half-open); a success restores it.
    t = 1500;
    const trial = await pool.acquire(new Set());
    expect(trial.url).toBe(l1.url);
    trial.release("ok");
    expect(pool.status().find((e) => e.endpoint === "http://127.0.0.1:9/v1")).toMatchObject({
      healthy: true,
      consecutiveFailures: 0,
    });
    pool.close();
  });

  it("health checks eject a dead endpoint and restore a live one", async () => {
    const live = await serve((_req, _b, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    const pool = createEndpointPool({
      endpoints: [live.url, "http://127.0.0.1:1/v1"],
      maxConcurrent: 1,
      healthIntervalMs: 3_600_000,
      ejectBaseMs: 1,
      labels: { model: "m", quantization: "q" },
    });
    await pool.checkNow();
    const [a, b] = pool.status();
    expect(a.healthy).toBe(true);
    expect(a.lastCheckAt).not.toBeNull();
    expect(b).toMatchObject({ healthy: false });
    expect(b.lastError).toContain("health check");
    pool.close();
  });
});
