// Requests still running when shutdown reaches its drain limit are told so: SSE and NDJSON streams end with a final
// error event (RFX_NOT_READY; NDJSON as Ollama's {"error": "…"} line, no `done`, as the README says; /v1/responses
// with response.failed carrying the partial message), a buffered request gets 503, and the generations are
// cancelled, instead of connections being cut mid-line. Real server (startServer) over a slow fake engine.
import { readFileSync } from "node:fs";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../src/main.ts";
import { createFakeEngine, type FakeEngine } from "./support/fake-engine.ts";
import {
  createTinyHome,
  liveServerConfig,
  errorOf,
  parseNdjson,
  parseSse,
  TINY,
  waitFor,
  type TinyHome,
} from "./support/server-fixture.ts";

/** The events of a /v1/responses stream (`event: type` + `data: {...}` blocks), by their data. */
function responseEvents(body: string): { type: string; [k: string]: unknown }[] {
  return body
    .split("\n\n")
    .map((block) => /^data: (.*)$/m.exec(block)?.[1])
    .filter((data): data is string => data !== undefined)
    .map((data) => JSON.parse(data) as { type: string });
}

/** The NDJSON line README's Shutdown paragraph says a stream ended at the drain limit finishes with. */
function readmeNdjsonShutdownLine(): string {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const bullet = readme.slice(readme.indexOf("- **Shutdown**"));
  const m = /NDJSON streams with[^`]*`(\{[^`]*\})`/.exec(bullet.slice(0, bullet.indexOf("\n- ")));
  if (!m) throw new Error("README's Shutdown paragraph does not show the NDJSON line");
  return m[1];
}

let home: TinyHome;
beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
});
afterAll(async () => {
  await home?.cleanup();
});

describe("shutdown at the drain limit", () => {
  let server: RunningServer;
  let engine: FakeEngine;

  beforeAll(async () => {
    // 40 ms a token and 900 tokens asked: nothing below finishes within the 1 s drain limit.
    engine = createFakeEngine({ tokenDelayMs: 40 });
    server = await startServer({
      loaded: liveServerConfig(home.home, { "scheduler.parallel": 6 }),
      store: home.store,
      engine,
      logger: false,
      webDir: null,
      drainTimeoutSeconds: 1,
    });
    await server.ready;
  });

  it("ends streams with an error event, answers buffered requests 503, and cancels the generations", async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const sse = await post("/v1/chat/completions", {
      model: TINY,
      messages: [{ role: "user", content: "tell me everything" }],
      max_tokens: 900,
      stream: true,
    });
    const ndjson = await post("/api/generate", { model: TINY, prompt: "a long story", options: { num_predict: 900 } });
    const buffered = post("/api/generate", {
      model: TINY,
      prompt: "another long story",
      stream: false,
      options: { num_predict: 900 },
    });
    const responses = await post("/v1/responses", {
      model: TINY,
      input: "tell me a saga",
      max_output_tokens: 900,
      stream: true,
    });
    // The official client, as an Ollama user meets the shutdown: the error line is thrown with its message.
    const viaClient = (async () => {
      const it = await new Ollama({ host: server.url }).generate({
        model: TINY,
        prompt: "an epic",
        stream: true,
        options: { num_predict: 900 },
      });
      let pieces = 0;
      for await (const part of it) if (!part.done) pieces++;
      return pieces;
    })();
    viaClient.catch(() => {});
    expect(sse.status).toBe(200);
    expect(ndjson.status).toBe(200);
    expect(responses.status).toBe(200);
    await waitFor(() => engine.running() === 5, "five generations running");
    // Tokens have gone out on every stream before the drain starts.
    await new Promise((r) => setTimeout(r, 200));

    const closing = server.close();
    const [sseText, ndjsonText, bufferedRes, responsesText] = await Promise.all([
      sse.text(),
      ndjson.text(),
      buffered,
      responses.text(),
    ]);
    await expect(viaClient).rejects.toThrow(/the server shut down before this request finished/);
    await closing;

    const events = parseSse(sseText);
    expect(events.at(-1)).toBe("[DONE]");
    expect(events.at(-2)).toMatchObject({ error: { code: "RFX_NOT_READY" } });
    expect(events.filter((e) => typeof e === "object" && e !== null && "error" in e)).toHaveLength(1);
    expect(events.length).toBeGreaterThan(3); // it really was streaming tokens before

    const lines = parseNdjson(ndjsonText);
    // As Ollama ends a failed stream: one {"error": "message"} line (the code rides beside it).
    expect(lines.at(-1)).toMatchObject({ code: "RFX_NOT_READY" });
    expect(typeof lines.at(-1)!.error).toBe("string");
    expect(lines.slice(0, -1).every((l) => l.done === false)).toBe(true);
    expect(lines.length).toBeGreaterThan(2);
    // Ollama's failed-stream line: no `done`, which would tell a client reading up to `done` that the answer is whole.
    expect(lines.at(-1)).not.toHaveProperty("done");
    // …and the README shows that line, field for field.
    const documented = [...readmeNdjsonShutdownLine().matchAll(/"(\w+)":/g)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(lines.at(-1)!).sort());

    // /v1/responses: response.failed carries the message the deltas built, marked incomplete.
    const rEvents = responseEvents(responsesText);
    const deltas = rEvents.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta as string);
    expect(deltas.length).toBeGreaterThan(0);
    const failed = rEvents.at(-1) as { type: string; response: { status: string; output: unknown[]; error: unknown } };
    expect(failed.type).toBe("response.failed");
    expect(failed.response.status).toBe("failed");
    expect(failed.response.error).toMatchObject({ code: "RFX_NOT_READY" });
    expect(failed.response.output).toEqual([
      {
        type: "message",
        id: expect.any(String),
        status: "incomplete",
        role: "assistant",
        content: [{ type: "output_text", text: deltas.join(""), annotations: [], logprobs: [] }],
      },
    ]);
    const added = rEvents.find((e) => e.type === "response.output_item.added");
    expect((failed.response.output[0] as { id: string }).id).toBe((added?.item as { id: string }).id);

    expect(bufferedRes.status).toBe(503);
    expect(errorOf(await bufferedRes.json())).toMatchObject({ code: "RFX_NOT_READY", ollama: true });

    await waitFor(() => engine.running() === 0, "generations cancelled", 5000);
  }, 60_000);
});
