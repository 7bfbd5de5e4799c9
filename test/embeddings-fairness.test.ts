// Embeddings cannot take the server hostage (issue #10): on the real engine and the tiny model, a 2,048-input request
// runs in batches that yield, so a one-word request waits at most about one batch; when its client goes away the
// big request stops at the next batch; and past embeddings.max_inputs a request is refused before any work.
// Bounds are ratios of times measured in the same run (≥ 5× slack), never absolute timings.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine, type LoadedModel } from "../src/engine/index.ts";
import { startServer, type RunningServer } from "../src/main.ts";
import { createTinyHome, liveServerConfig, TINY, type TinyHome } from "./support/server-fixture.ts";

const BATCH = 4;
const MODEL = `${TINY}:q4_0`;

/** The real engine, counting the texts of every embed() call on embedding models. */
function countingEngine(inner: Engine, calls: number[]): Engine {
  return {
    name: inner.name,
    defaultThreads: inner.defaultThreads,
    dispose: () => inner.dispose(),
    async loadModel(options) {
      const model = await inner.loadModel(options);
      if (!options.embedding) return model;
      const counted: LoadedModel = Object.assign(Object.create(Object.getPrototypeOf(model)) as LoadedModel, model, {
        embed: (texts: string[]) => {
          calls.push(texts.length);
          return model.embed(texts);
        },
      });
      return counted;
    },
  };
}

let home: TinyHome;
let server: RunningServer;
const calls: number[] = [];

beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
  // One sequence: the strictest case, where a request holding the engine for its whole input would block the rest.
  const loaded = liveServerConfig(home.home, {
    "scheduler.parallel": 1,
    "embeddings.batch_size": BATCH,
    "embeddings.max_inputs": 2048,
  });
  server = await startServer({
    loaded,
    store: home.store,
    engine: countingEngine(createEngine({}), calls),
    logger: false,
    webDir: null,
    warmUp: false,
  });
  await server.ready;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await home?.cleanup();
});

const filler =
  "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ";
/** 378 characters, as in the report; distinct so no layer can deduplicate them. */
const text378 = (i: number): string => `${i} ${filler.repeat(4)}`.slice(0, 378);

/** Fails with a message (instead of the test timing out) when a request takes far past its budget. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(() => reject(new Error(`${what} still waiting after ${Math.round(ms)} ms`)), ms)),
  );
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

async function embed(input: string[], signal?: AbortSignal): Promise<{ status: number; ms: number; body: any }> {
  const t0 = performance.now();
  const res = await fetch(`${server.url}/api/embed`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, input }),
    signal,
  });
  const body = await res.json();
  return { status: res.status, ms: performance.now() - t0, body };
}

describe("a 2,048-input embeddings request cannot hold the engine", () => {
  it("a one-word request waits about one batch, during the big request and right after it is aborted; the aborted one stops", async () => {
    // Warm the embedding context, then measure one batch of long texts and one word, alone, in this run.
    expect((await embed(["warm up"])).status).toBe(200);
    const batch = await embed(Array.from({ length: BATCH }, (_, i) => text378(10_000 + i)));
    expect(batch.status).toBe(200);
    expect(batch.body.embeddings).toHaveLength(BATCH);
    const word = await embed(["hello"]);
    const budget = 5 * (batch.ms + word.ms);

    const ac = new AbortController();
    const big = embed(
      Array.from({ length: 2048 }, (_, i) => text378(i)),
      ac.signal,
    ).catch((e: Error) => e);
    // During: the big request is well into its batches.
    await new Promise((r) => setTimeout(r, 1500));
    const during = await within(embed(["during"]), 2 * budget, "one word during the big request");
    expect(during.status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - 1500 - during.ms)));
    ac.abort();
    const abortedAt = calls.length;
    const after = await within(embed(["after"]), 2 * budget, "one word after the abort");
    expect(after.status).toBe(200);
    expect((await big) as Error).toBeInstanceOf(Error);

    const doneBefore = calls.filter((n) => n === BATCH).length;
    // Far from all 512 batches ran: the request was cut at a batch boundary, not run to the end.
    expect(doneBefore).toBeLessThan(2048 / BATCH / 2);
    expect(
      during.ms,
      `one word during the big request: ${during.ms.toFixed(0)} ms vs one batch ${batch.ms.toFixed(0)} ms + one word ${word.ms.toFixed(0)} ms`,
    ).toBeLessThan(budget);
    expect(
      after.ms,
      `one word after the abort: ${after.ms.toFixed(0)} ms vs one batch ${batch.ms.toFixed(0)} ms + one word ${word.ms.toFixed(0)} ms`,
    ).toBeLessThan(budget);

    // Cancelled: after the abort at most the batch already on the engine ran, then only the one-word request.
    await new Promise((r) => setTimeout(r, Math.min(budget, 5000)));
    const since = calls.slice(abortedAt);
    expect(since.filter((n) => n === BATCH).length).toBeLessThanOrEqual(1);
    expect(since.filter((n) => n === 1)).toEqual([1]);
    const status = (await (await fetch(`${server.url}/api/status`)).json()) as {
      queue: { running: number; queued: number };
    };
    expect(status.queue).toMatchObject({ running: 0, queued: 0 });
  }, 120_000);

  it("past embeddings.max_inputs the request is refused with 413 before the engine sees it", async () => {
    const before = calls.length;
    const r = await embed(Array.from({ length: 2049 }, (_, i) => `w${i}`));
    expect(r.status).toBe(413);
    // /api/embed answers in Ollama's shape: {error: "message", code}.
    expect(r.body.code).toBe("RFX_PAYLOAD_TOO_LARGE");
    expect(r.body.error).toContain("EMBED_MAX_INPUTS");
    const openai = await fetch(`${server.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, input: Array.from({ length: 2049 }, () => "x") }),
    });
    expect(openai.status).toBe(413);
    expect(calls.length).toBe(before);
  });
});
