// Shutdown of the real server process. SIGTERM: the in-flight stream finishes while the listener stays open, new
// requests get 503 RFX_NOT_READY and /readyz 503 `draining`, then the process exits 0 after unloading, with no
// keep-alive connection holding it; a stream that outlasts the drain limit ends with its error line. A second
// SIGTERM or SIGINT exits at once (143, 130).
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { Agent, request } from "node:http";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawHttp } from "./support/raw-http.ts";
import { createTinyHome, errorOf, parseNdjson, TINY, type TinyHome } from "./support/server-fixture.ts";

let home: TinyHome;
beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
});
afterAll(async () => {
  await home?.cleanup();
});

interface Server {
  child: ChildProcessByStdio<null, null, Readable>;
  url: string;
  port: number;
  /** Resolves with the exit code and when the process exited (Date.now()). */
  exited: Promise<{ code: number | null; at: number }>;
}

const started: Server[] = [];
afterAll(() => {
  for (const s of started) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
});

/** Spawns `entry` (src/main.ts, or the fake-engine server for short drains) and waits until /readyz says 200. */
async function spawnServer(entry: string, env: Record<string, string> = {}): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REFLEXIA_HOME: home.home,
      DEFAULT_MODEL: TINY,
      HOST: "127.0.0.1",
      PORT: "0",
      METRICS_PORT: "0",
      LOG_LEVEL: "warn",
      PARALLEL: "2",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once("exit", (code) => resolve({ code, at: Date.now() })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.once("exit", () => reject(new Error(`server exited early: ${stderr}`)));
  });
  const server = { child, url, port: Number(new URL(url).port), exited };
  started.push(server);
  // Wait for the warm-up so a request below is decoding when the signal arrives.
  for (let i = 0; i < 600 && (await fetch(`${url}/readyz`)).status !== 200; i++)
    await new Promise((r) => setTimeout(r, 50));
  return server;
}

/** Starts a streamed /api/generate and reads its first piece; `rest()` reads the remainder. */
async function startStream(url: string, numPredict: number): Promise<{ rest(): Promise<string> }> {
  const res = await fetch(`${url}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: TINY, prompt: "a long story", options: { num_predict: numPredict, seed: 1 } }),
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let body = new TextDecoder().decode((await reader.read()).value);
  return {
    async rest() {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return body;
        body += new TextDecoder().decode(value);
      }
    },
  };
}

/** A request on a fresh connection, as a client arriving during the drain makes it (rejects when refused). */
const fresh = (port: number, target: string) => rawHttp(port, { method: "GET", target }, 5000);

/** Polls a fresh connection until the signal is handled (the answer is no longer 200). */
async function firstRefusal(port: number): Promise<Awaited<ReturnType<typeof fresh>>> {
  for (let i = 0; i < 500; i++) {
    const r = await fresh(port, "/api/version");
    if (r.status !== 200) return r;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the server kept answering 200 after the signal");
}

describe("graceful shutdown", () => {
  it("drains the in-flight stream on SIGTERM with the listener open (503, /readyz draining), then exits 0", async () => {
    const { child, url, port, exited } = await spawnServer("src/main.ts");
    // A keep-alive connection left idle must not hold the process open after the drain.
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    await new Promise<void>((resolve, reject) =>
      request(`${url}/healthz`, { agent }, (res) => res.resume().once("end", resolve))
        .once("error", reject)
        .end(),
    );
    try {
      const stream = await startStream(url, 300);
      child.kill("SIGTERM");
      // New connections are still accepted while the stream runs: told 503 RFX_NOT_READY, not refused.
      const late = await firstRefusal(port);
      expect(late.status).toBe(503);
      expect(errorOf(JSON.parse(late.body))).toMatchObject({ code: "RFX_NOT_READY" });
      expect(late.headers["retry-after"]).toBeDefined();
      expect(late.headers.connection).toBe("close");
      const ready = await fresh(port, "/readyz");
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toMatchObject({ status: "draining", ready: false });

      const lines = parseNdjson(await stream.rest());
      const streamEnded = Date.now();
      expect(lines.at(-1)).toMatchObject({ done: true });
      expect(lines.at(-1)!.eval_count).toBeGreaterThan(0);
      const { code, at } = await exited;
      expect(code).toBe(0);
      // The idle keep-alive connection was closed with the listener, not waited out.
      expect(at - streamEnded).toBeLessThan(5000);
      await expect(fresh(port, "/healthz")).rejects.toThrow();
    } finally {
      agent.destroy();
    }
  });

  it("ends a stream that outlasts the drain limit with its error line, closes the listener and exits 0", async () => {
    const { child, port, url, exited } = await spawnServer("test/support/drain-server.ts", {
      DRAIN_TIMEOUT_SECONDS: "1",
      TOKEN_DELAY_MS: "30",
    });
    const stream = await startStream(url, 900);
    const signalled = Date.now();
    child.kill("SIGTERM");
    expect((await firstRefusal(port)).status).toBe(503);
    const lines = parseNdjson(await stream.rest());
    expect(lines.at(-1)).toMatchObject({ code: "RFX_NOT_READY" });
    expect(lines.at(-1)).not.toHaveProperty("done");
    expect(lines.length).toBeGreaterThan(2);
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - signalled).toBeLessThan(6000);
    await expect(fresh(port, "/healthz")).rejects.toThrow();
  });

  for (const [signal, exitCode] of [
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const) {
    it(`exits at once with ${exitCode} on a second ${signal}, ending the open stream with its error line`, async () => {
      const { child, port, url, exited } = await spawnServer("test/support/drain-server.ts", {
        DRAIN_TIMEOUT_SECONDS: "25",
        TOKEN_DELAY_MS: "30",
      });
      const stream = await startStream(url, 900);
      child.kill(signal);
      // The first signal is being handled (the drain began) before the second is sent.
      expect((await firstRefusal(port)).status).toBe(503);
      const again = Date.now();
      child.kill(signal);
      const { code, at } = await exited;
      expect(code).toBe(exitCode);
      expect(at - again).toBeLessThan(2000);
      const lines = parseNdjson(await stream.rest());
      expect(lines.at(-1)).toMatchObject({ code: "RFX_NOT_READY" });
    });
  }

  it("exits at once on a second SIGTERM while the engine is inside a token that takes minutes to sample", async () => {
    const { child, url, port, exited } = await spawnServer("src/main.ts");
    // Rules that chain through optional alternatives: llama.cpp's grammar work grows with the cube of their number,
    // so sampling one token takes far longer than this test (README, "Not guarded"). process.exit() waited for it.
    const n = 700;
    const gbnf =
      "root ::= r0\n" +
      Array.from({ length: n }, (_, i) => `r${i} ::= "a" r${i + 1} | r${i + 1}\n`).join("") +
      `r${n} ::= "b"\n`;
    const inFlight = fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: TINY, messages: [{ role: "user", content: "x" }], max_tokens: 2, grammar: gbnf }),
    }).catch(() => undefined);
    for (let i = 0; i < 400; i++) {
      const st = (await (await fetch(`${url}/api/status`)).json()) as { queue?: { running?: number } };
      if ((st.queue?.running ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    // The grammar is checked on the main thread first (seconds for this one); the signals go once the token is in
    // the decode thread's hands and the main thread answers again.
    expect((await rawHttp(port, { method: "GET", target: "/api/version" }, 50_000)).status).toBe(200);
    const st = (await (await fetch(`${url}/api/status`)).json()) as { queue: { running: number } };
    expect(st.queue.running).toBe(1);
    child.kill("SIGTERM");
    expect((await firstRefusal(port)).status).toBe(503);
    const again = Date.now();
    child.kill("SIGTERM");
    const { code, at } = await exited;
    expect(code).toBe(143);
    expect(at - again).toBeLessThan(3000);
    await inFlight;
  }, 60_000);
});
