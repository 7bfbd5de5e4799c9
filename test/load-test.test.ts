// reflexia load-test against a real server on loopback with the tiny model: the workers ramp up, every request is
// counted once, refusals are counted by code, and nothing but loopback is ever a target.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLoopbackHost, runLoadTest } from "../src/bench/load-test.ts";
import { startServer, type RunningServer } from "../src/main.ts";
import { runCli } from "./support/run-cli.ts";
import { createTinyHome, liveServerConfig, TINY, type TinyHome } from "./support/server-fixture.ts";

let home: TinyHome;
let server: RunningServer;
const BIN = join(import.meta.dirname, "..", "bin", "reflexia.js");

beforeAll(async () => {
  home = await createTinyHome(["q4_0", "f16"]);
  // A model the server lists whose every request fails: its endpoint is a closed port.
  const remote = await runCli(home.home, [
    "--local",
    "models",
    "add-remote",
    "dead:f16",
    "--url",
    "http://127.0.0.1:9/v1",
  ]);
  expect(remote.code, remote.stderr).toBe(0);
  const loaded = liveServerConfig(home.home, {
    "scheduler.parallel": 2,
    "scheduler.queue_size": 2,
    "models.context_size": 1024,
  });
  server = await startServer({ loaded, store: home.store, logger: false });
  await server.ready;
});

afterAll(async () => {
  await server?.close();
  await home?.cleanup();
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, "--home", home.home, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe("load test", () => {
  it("ramps workers up, counts every request once and stops by itself", async () => {
    const r = await runLoadTest({ url: server.url, workers: 3, durationS: 3, rampUpS: 2, maxTokens: 8 });
    expect(r.model).toBe(TINY); // the server's default model: adaptive quantization chose the variant
    expect(r.requests).toBeGreaterThan(3);
    expect(r.succeeded + r.failed).toBe(r.requests);
    expect(r.timeline.reduce((s, x) => s + x.completed, 0)).toBe(r.succeeded);
    expect(r.timeline.reduce((s, x) => s + x.errors, 0)).toBe(r.failed);
    expect(r.completionTokens).toBe(r.timeline.reduce((s, x) => s + x.completionTokens, 0));
    expect(Object.values(r.variants).reduce((a, b) => a + b, 0)).toBe(r.succeeded);
    expect(Object.keys(r.variants).every((v) => v.startsWith(`${TINY}:`))).toBe(true);
    // Ramp-up: one worker at first (worker 0 starts at once, the others 2/3 s apart), all three by second 2.
    expect(r.timeline[0].workers).toBeLessThan(3);
    expect(r.timeline[2].workers).toBe(3);
    expect(r.ttftMs!.p50).toBeLessThanOrEqual(r.latencyMs.p50);
    expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p95);
  });

  it("counts the server's refusals by code instead of failing, and pinned variants are honoured", async () => {
    // 6 workers on 2 sequences and a queue of 2: some requests are refused with RFX_QUEUE_FULL.
    const r = await runLoadTest({
      url: server.url,
      model: `${TINY}:f16`,
      workers: 6,
      durationS: 2,
      maxTokens: 48,
      stream: false,
    });
    expect(r.succeeded).toBeGreaterThan(0);
    expect(r.errors.RFX_QUEUE_FULL).toBeGreaterThan(0);
    expect(Object.values(r.errors).reduce((a, b) => a + b, 0)).toBe(r.failed);
    expect(Object.keys(r.variants)).toEqual([`${TINY}:f16`]);
    expect(r.ttftMs).toBeNull();
    expect(r.errorMessages.RFX_QUEUE_FULL).toMatch(/queue/i);
  });

  it("refuses before any load what the server would refuse every time: an unknown model, too many tokens, a path", async () => {
    await expect(
      runLoadTest({ url: server.url, model: "no-such-model", workers: 1, durationS: 1, maxRequests: 3 }),
    ).rejects.toMatchObject({
      code: "RFX_MODEL_NOT_FOUND",
      message: expect.stringContaining("has no model no-such-model"),
    });
    // A bare name is a model whose variant the server picks.
    const bare = await runLoadTest({
      url: server.url,
      model: TINY,
      workers: 1,
      durationS: 1,
      maxRequests: 1,
      maxTokens: 2,
    });
    expect(bare.succeeded).toBe(1);
    const status = (await (await fetch(`${server.url}/api/status`)).json()) as { limits: { max_tokens: number } };
    await expect(
      runLoadTest({ url: server.url, durationS: 1, maxTokens: status.limits.max_tokens + 1 }),
    ).rejects.toMatchObject({
      message: `max-tokens ${status.limits.max_tokens + 1} is over the server's limit of ${status.limits.max_tokens} (limits.max_tokens at ${server.url}/api/status)`,
    });
    await expect(runLoadTest({ url: `${server.url}/v1`, durationS: 1 })).rejects.toMatchObject({
      message: `url must be the server's base URL, without a path (got ${server.url}/v1; try ${server.url})`,
    });
  });

  it("says why every request failed, shows no latency figures, and exits non-zero when none succeeded", async () => {
    const r = await cli([
      "load-test",
      "--url",
      server.url,
      "--model",
      "dead:f16",
      "--workers",
      "1",
      "--duration",
      "1",
      "--max-requests",
      "2",
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("latency     no successful request");
    expect(r.stdout).not.toContain("NaN");
    expect(r.stdout).toMatch(/^ {2}RFX_\w+: \S/m);
    expect(r.stderr).toContain("none of the 2 requests succeeded");
    const out = await cli(["load-test", "--url", server.url, "--duration", "1", "--output", "/nonexistent-rfx/x.json"]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("--output /nonexistent-rfx/x.json: the folder /nonexistent-rfx does not exist");
  });

  it("targets loopback only and rejects bad bounds before sending anything", async () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "[::1]"]) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ["10.0.0.1", "192.168.1.1", "example.com", "127.0.0.256", "0.0.0.0", "::2"])
      expect(isLoopbackHost(h), h).toBe(false);
    await expect(runLoadTest({ url: "http://10.1.2.3:8000" })).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    await expect(runLoadTest({ url: server.url, workers: 0 })).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    await expect(runLoadTest({ url: server.url, durationS: 2, rampUpS: 3 })).rejects.toMatchObject({
      code: "RFX_VALIDATION",
    });
    await expect(runLoadTest({ url: "not a url" })).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    // Nothing listens on port 1: the run fails at once with a clear code instead of counting refusals for its duration.
    await expect(runLoadTest({ url: "http://127.0.0.1:1", durationS: 60 })).rejects.toMatchObject({
      code: "RFX_NOT_READY",
    });
  });

  it("runs from the CLI with --workers --duration --ramp-up and prints JSON", async () => {
    const ok = await cli([
      "load-test",
      "--url",
      server.url,
      "--workers",
      "2",
      "--duration",
      "2",
      "--ramp-up",
      "1",
      "--max-tokens",
      "4",
      "--json",
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const r = JSON.parse(ok.stdout);
    expect(r.workers).toBe(2);
    expect(r.rampUpS).toBe(1);
    expect(r.succeeded).toBeGreaterThan(0);
    const bad = await cli(["load-test", "--url", "http://192.168.0.10:8000", "--duration", "1"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/RFX_VALIDATION|only target this machine/);
  });
});
