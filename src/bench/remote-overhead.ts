// Overhead of Reflexia as a front door: the same `openai` client streams completions from a llama-server directly
// and through a Reflexia server whose remote variant points at that llama-server, N concurrent, alternating sides
// per trial. Reports aggregate tok/s (ratio via/direct) and TTFT p50 (added ms).
// Run: npx tsx src/bench/remote-overhead.ts --llama-server BIN [--model GGUF | --shape small] [--concurrency 8]
//        [--tokens 64] [--requests 4] [--trials 3] [--threads N] [--warmup 400] [--burst]
//        [--upstream-cpus LIST | --shared]
// The upstream is remote, as in the issue's setup: by default llama-server runs on the upper half of the CPUs and the
// front and the client on the rest (taskset), as if on two hosts; --upstream-cpus chooses llama-server's CPUs, and
// --shared runs all three on every CPU (a front on the inference host itself, sharing its cores).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { loadConfig, QUANTIZATIONS, type Quantization } from "../config/index.ts";
import { createEngineFromConfig } from "../engine/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import { createModelStore } from "../registry/index.ts";
import { median, percentile } from "./bench-stats.ts";
import { freePort } from "./free-port.ts";
import { nonTextTokens } from "./non-text-tokens.ts";
import { startedAt, startReflexiaServe } from "./child-server.ts";
import { scriptArgs } from "./script-args.ts";

export interface RemoteOverheadOptions {
  llamaServer: string;
  /** GGUF to serve; without it a synthetic model of `shape` (q4_0) is written to a temp home. */
  model?: string;
  /** Defaults to "small". */
  shape?: string;
  /** Defaults to 8. */
  concurrency?: number;
  /** Completion tokens per request (EOS ignored). Defaults to 64. */
  tokens?: number;
  /** Requests per worker per run. Defaults to 4. */
  requests?: number;
  /** Paired trials (direct and via Reflexia each once per trial, order alternating). Defaults to 3. */
  trials?: number;
  /** llama-server threads. Defaults to the number of CPUs it runs on. */
  threads?: number;
  /**
   * Short requests (2 tokens, `concurrency` at a time) sent through the front before the trials: a server that has
   * been up a while runs JIT-compiled code, one just started does not. Defaults to 400.
   */
  warmup?: number;
  /**
   * How the N workers start. "staggered" (default): worker w starts w/N of a request's duration after the first, so
   * requests arrive one at a time into a running batch, as independent clients' do. "burst": all at once, and since
   * every answer has the same length the N stay in lock-step: each round's N requests arrive together.
   */
  arrivals?: "staggered" | "burst";
  /**
   * Where the processes run. "split" (default): llama-server on `upstreamCpus`, the front and the client on the
   * other CPUs, as an upstream on another host. "shared": every process on every CPU.
   */
  layout?: "split" | "shared";
  /** llama-server's CPUs in the split layout (a taskset list such as "1" or "2-3"); defaults to the upper half. */
  upstreamCpus?: string;
  log?: (line: string) => void;
}

export interface SideFigures {
  tokensPerSecond: number;
  ttftMs: number[];
  /** Requests the client sent again (the SDK retries a failed connection after a backoff). */
  retries: number;
  /** Via Reflexia: the mean TTFT of its upstream requests as the front measured them (from its metrics). */
  upstreamMeanMs?: number;
}

export interface RemoteOverheadResult {
  concurrency: number;
  arrivals: "staggered" | "burst";
  tokens: number;
  trials: { direct: number; via: number; ratio: number; ttftP50DirectMs: number; ttftP50ViaMs: number }[];
  /** Median over trials of via/direct aggregate tok/s. */
  medianRatio: number;
  /** TTFT p50 over every request of every trial. */
  ttftP50DirectMs: number;
  ttftP50ViaMs: number;
  /**
   * Median over trials of (via TTFT p50 − direct TTFT p50) within the trial: paired like the tok/s ratio, so a
   * trial the whole host stalled in (both sides of it slow) does not move it.
   */
  addedTtftP50Ms: number;
  /** ttftP50ViaMs − ttftP50DirectMs (pooled). */
  pooledAddedTtftP50Ms: number;
  loadAverage: number[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** A client error with the causes the openai client wraps (fetch failed ← ECONNRESET …). */
function causeOf(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e; c instanceof Error && parts.length < 4; c = (c as { cause?: unknown }).cause)
    parts.push(`${c.message}${(c as { code?: string }).code ? ` (${(c as { code?: string }).code})` : ""}`);
  return parts.join(" ← ");
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A taskset CPU list ("1", "0,2", "2-3") as CPU numbers. */
export function parseCpuList(list: string): number[] {
  const cpus = new Set<number>();
  for (const item of list.split(",")) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(item);
    if (!m) throw new ReflexiaError("RFX_VALIDATION", `not a CPU list: ${JSON.stringify(list)} (e.g. 1 or 0,2 or 2-3)`);
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The CPUs this process may run on (Linux: its affinity; elsewhere 0..n-1). */
function allowedCpus(): number[] {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return parseCpuList(m[1]);
  } catch {
    // not Linux
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i);
}

export interface Placement {
  /** taskset lists; undefined: unpinned. */
  upstream?: string;
  front?: string;
  threads: number;
  description: string;
}

/** Where llama-server, the front and the client run (see RemoteOverheadOptions.layout), on `cpus`. */
export function placementOf(
  options: Pick<RemoteOverheadOptions, "layout" | "upstreamCpus" | "threads">,
  cpus: number[] = allowedCpus(),
): Placement {
  if ((options.layout ?? "split") === "shared")
    return {
      threads: options.threads ?? cpus.length,
      description: `llama-server, the front and the client share CPUs ${cpus.join(",")}`,
    };
  const upstream = options.upstreamCpus ? parseCpuList(options.upstreamCpus) : cpus.slice(Math.floor(cpus.length / 2));
  const front = cpus.filter((c) => !upstream.includes(c));
  if (front.length === 0 || upstream.length === 0)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `the split layout needs CPUs for llama-server and others for the front and the client; this process may use ${cpus.join(",")}${options.upstreamCpus ? ` and --upstream-cpus is ${options.upstreamCpus}` : ""} (use --shared on one CPU)`,
    );
  return {
    upstream: upstream.join(","),
    front: front.join(","),
    threads: options.threads ?? upstream.length,
    description: `llama-server on CPU ${upstream.join(",")}, the front and the client on CPU ${front.join(",")} (as on two hosts)`,
  };
}

/** Pins this process (every thread: the client runs here) to `cpus` with taskset. */
function pinSelf(cpus: string): void {
  const r = spawnSync("taskset", ["-a", "-cp", cpus, String(process.pid)], { encoding: "utf8" });
  if (r.error || r.status !== 0)
    throw new ReflexiaError(
      "RFX_ENGINE",
      `taskset could not pin the client to CPU ${cpus} (${r.error?.message ?? r.stderr.trim()}); install util-linux or use --shared`,
    );
}

export async function runRemoteOverhead(options: RemoteOverheadOptions): Promise<RemoteOverheadResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const n = options.concurrency ?? 8;
  const tokens = options.tokens ?? 64;
  const perWorker = options.requests ?? 4;
  const trials = options.trials ?? 3;
  const warmup = options.warmup ?? 400;
  const arrivals = options.arrivals ?? "staggered";
  if (!existsSync(options.llamaServer)) throw new ReflexiaError("RFX_NOT_FOUND", `not found: ${options.llamaServer}`);
  const placement = placementOf(options);
  // The client is this process: in the split layout it keeps to the front's side (for the rest of its life).
  if (placement.front) pinSelf(placement.front);
  const tmp = await mkdtemp(join(tmpdir(), "rfx-remote-bench-"));
  const cleanups: (() => Promise<void> | void)[] = [() => rm(tmp, { recursive: true, force: true })];
  try {
    let modelPath = options.model;
    if (!modelPath) {
      const store = createModelStore({ home: join(tmp, "up") });
      const q: Quantization = QUANTIZATIONS[0];
      await store.synth({ shape: options.shape ?? "small", quant: [q], name: "bench", seed: 1 });
      modelPath = (await store.resolve(`bench:${q}`)).path;
    }
    // llama-server refuses output that is not valid UTF-8 (byte tokens of synthetic models): ban the tokens that do
    // not decode to text alone. Both sides send the same ban (through Reflexia as the variant's extra body).
    const { config: engineConfig } = loadConfig({ env: {}, overrides: { home: tmp, "gpu.backend": "off" } });
    const engine = createEngineFromConfig(engineConfig);
    const probe = await engine.loadModel({ path: modelPath, contextSize: 256 });
    const banned = nonTextTokens(probe).map((id): [number, false] => [id, false]);
    await probe.dispose();
    await engine.dispose();
    const upstreamExtra = { logit_bias: banned, ignore_eos: true, cache_prompt: false };

    const port = await freePort();
    const perSeq = Math.ceil((tokens + 64) / 256) * 256;
    const serverArgs = [
      "-m",
      modelPath,
      "-t",
      String(placement.threads),
      "-np",
      String(n),
      "-c",
      String(perSeq * n),
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--no-warmup",
      "--cache-ram",
      "0",
      "--alias",
      "bench",
      // Enough HTTP threads for every stream of both clients: cpp-httplib closes connections it cannot queue.
      "--threads-http",
      String(2 * n + 2),
    ];
    const [command, args] = placement.upstream
      ? ["taskset", ["-c", placement.upstream, options.llamaServer, ...serverArgs]]
      : [options.llamaServer, serverArgs];
    const server: ChildProcess = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    const upstream = `http://127.0.0.1:${port}`;
    cleanups.push(await startedAt(server, "llama-server", `${upstream}/health`));

    // The front: `reflexia serve` in a process of its own (as deployed), the remote variant declared in its config
    // file, cache and auth off. The client runs in this process for both sides, so the front's relay work never
    // shares an event loop with the client's.
    const frontPort = await freePort();
    const metricsPort = await freePort();
    const configFile = join(tmp, "front.json");
    await writeFile(
      configFile,
      JSON.stringify({
        home: join(tmp, "front"),
        server: { host: "127.0.0.1", port: frontPort, metrics_port: metricsPort },
        models: { default: "bench", context_size: 65536 },
        scheduler: { parallel: n },
        cache: { enabled: false },
        log: { level: "silent" },
        remote: {
          models: [
            {
              name: "bench",
              tag: "remote",
              urls: [upstream],
              upstream_model: "bench",
              max_concurrent: n,
              extra_body: upstreamExtra,
            },
          ],
        },
      }),
    );
    const front = `http://127.0.0.1:${frontPort}`;
    const frontProc = await startReflexiaServe(
      configFile,
      front,
      placement.front ? ["taskset", "-c", placement.front] : [],
    );
    cleanups.push(frontProc.cleanup);

    // HTTP requests each side's client sent: more than the completions asked for means the SDK retried (a failed
    // connection), which costs that side a backoff and is reported.
    const sent = { direct: 0, via: 0 };
    const counting =
      (side: "direct" | "via"): typeof fetch =>
      (input, init) => {
        sent[side]++;
        return fetch(input, init);
      };
    // llama-server closes its connection after each streamed answer without saying so (no `Connection: close`): a
    // client that keeps it for the next request sometimes writes into a closing socket, fails, and the SDK retries
    // after a backoff. The front resends such a request at once (post-stream.ts); the direct client asks for a new
    // connection per request instead, which llama-server would have made it open anyway.
    const direct = new OpenAI({
      baseURL: `${upstream}/v1`,
      apiKey: "none",
      maxRetries: 2,
      defaultHeaders: { connection: "close" },
      fetch: counting("direct"),
    });
    const via = new OpenAI({ baseURL: `${front}/v1`, apiKey: "none", maxRetries: 2, fetch: counting("via") });
    const one = async (
      client: OpenAI,
      model: string,
      extra: object,
      prompt: string,
      maxTokens = tokens,
    ): Promise<[number, number]> => {
      const t0 = performance.now();
      let ttft = -1;
      let count = 0;
      const stream = await client.completions.create({
        model,
        prompt,
        max_tokens: maxTokens,
        temperature: 0.8,
        stream: true,
        stream_options: { include_usage: true },
        ...extra,
      });
      for await (const c of stream) {
        if (ttft < 0 && c.choices[0]?.text) ttft = performance.now() - t0;
        if (c.usage) count = c.usage.completion_tokens;
      }
      return [count, ttft];
    };
    // The front's own view of the upstream (its TTFT histogram's sum and count): what it adds is the rest.
    const upstreamTtft = async (): Promise<{ sum: number; count: number }> => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const value = (name: string) =>
        text
          .split("\n")
          .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
          .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
      return {
        sum: value("reflexia_upstream_time_to_first_token_seconds_sum") * 1000,
        count: value("reflexia_upstream_time_to_first_token_seconds_count"),
      };
    };
    // One request's duration at full concurrency (set by the first, unmeasured run): the staggered start's period.
    let requestMs = 0;
    const run = async (side: "direct" | "via", trial: number): Promise<SideFigures> => {
      const ttftMs: number[] = [];
      let total = 0;
      const before = side === "via" ? await upstreamTtft() : undefined;
      const sentBefore = sent[side];
      const t0 = performance.now();
      const staggerMs = arrivals === "staggered" ? requestMs / n : 0;
      await Promise.all(
        Array.from({ length: n }, async (_, w) => {
          if (staggerMs > 0) await pause(w * staggerMs);
          for (let k = 0; k < perWorker; k++) {
            // The same prompts on both sides (cache_prompt off, so neither reuses the other's KV).
            const prompt = `Request ${w}-${k} of trial ${trial}: tell me about the sea and the ships on it`;
            const [c, t] = await (
              side === "direct" ? one(direct, "bench", upstreamExtra, prompt) : one(via, "bench:remote", {}, prompt)
            ).catch((e: unknown) => {
              throw new ReflexiaError("RFX_ENGINE", `${side}: ${causeOf(e)}`);
            });
            total += c;
            ttftMs.push(t);
          }
        }),
      );
      const elapsed = performance.now() - t0;
      if (requestMs === 0) requestMs = elapsed / perWorker;
      const tokensPerSecond = (total / elapsed) * 1000;
      const retries = sent[side] - sentBefore - n * perWorker;
      if (!before) return { tokensPerSecond, ttftMs, retries };
      const after = await upstreamTtft();
      const upstreamMeanMs = (after.sum - before.sum) / Math.max(1, after.count - before.count);
      return { tokensPerSecond, ttftMs, retries, upstreamMeanMs };
    };
    log(
      `${placement.description}; llama-server ${placement.threads} threads, ${n} slots; ${n} concurrent × ${perWorker} requests × ${tokens} tokens per run; ${trials} paired trials after ${warmup} warm-up requests through the front; ${arrivals} arrivals; load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}`,
    );
    // Only the front runs JavaScript that warms up (the client is this process for both sides, and warms with it).
    let left = warmup;
    await Promise.all(
      Array.from({ length: n }, async (_, w) => {
        while (left-- > 0)
          await one(via, "bench:remote", {}, `Warm-up ${w}-${left}: the sea`, 2).catch((e: unknown) => {
            throw new ReflexiaError("RFX_ENGINE", `warm-up: ${causeOf(e)}`);
          });
      }),
    );
    await run("direct", -1);
    await run("via", -1);
    const rows: RemoteOverheadResult["trials"] = [];
    const allDirect: number[] = [];
    const allVia: number[] = [];
    for (let t = 0; t < trials; t++) {
      const order: ("direct" | "via")[] = t % 2 === 0 ? ["direct", "via"] : ["via", "direct"];
      const figures: Partial<Record<"direct" | "via", SideFigures>> = {};
      for (const side of order) figures[side] = await run(side, t);
      const d = figures.direct!;
      const v = figures.via!;
      allDirect.push(...d.ttftMs);
      allVia.push(...v.ttftMs);
      const row = {
        direct: d.tokensPerSecond,
        via: v.tokensPerSecond,
        ratio: v.tokensPerSecond / d.tokensPerSecond,
        ttftP50DirectMs: median(d.ttftMs),
        ttftP50ViaMs: median(v.ttftMs),
      };
      rows.push(row);
      log(
        `trial ${t + 1}: direct ${row.direct.toFixed(1)} tok/s, via Reflexia ${row.via.toFixed(1)} tok/s (×${row.ratio.toFixed(3)}); TTFT p50 ${row.ttftP50DirectMs.toFixed(1)} / ${row.ttftP50ViaMs.toFixed(1)} ms, mean ${mean(d.ttftMs).toFixed(1)} / ${mean(v.ttftMs).toFixed(1)} ms (upstream as the front saw it ${v.upstreamMeanMs?.toFixed(1)} ms)${d.retries || v.retries ? `; client retries ${d.retries} / ${v.retries}` : ""}`,
      );
    }
    const result: RemoteOverheadResult = {
      concurrency: n,
      arrivals,
      tokens,
      trials: rows,
      medianRatio: median(rows.map((r) => r.ratio)),
      ttftP50DirectMs: percentile(allDirect, 50),
      ttftP50ViaMs: percentile(allVia, 50),
      addedTtftP50Ms: median(rows.map((r) => r.ttftP50ViaMs - r.ttftP50DirectMs)),
      pooledAddedTtftP50Ms: percentile(allVia, 50) - percentile(allDirect, 50),
      loadAverage: loadavg(),
    };
    log(
      `median aggregate tok/s ratio via/direct ${result.medianRatio.toFixed(3)}; added TTFT p50 (median of the trials' differences) ${result.addedTtftP50Ms.toFixed(1)} ms; TTFT p50 of all requests direct ${result.ttftP50DirectMs.toFixed(1)} ms, via ${result.ttftP50ViaMs.toFixed(1)} ms (${result.pooledAddedTtftP50Ms >= 0 ? "+" : ""}${result.pooledAddedTtftP50Ms.toFixed(1)} ms); load ${result.loadAverage.map((x) => x.toFixed(2)).join(" ")}`,
    );
    return result;
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { get, num, has } = scriptArgs();
  runRemoteOverhead({
    llamaServer: get("--llama-server") ?? process.env.LLAMA_SERVER ?? "",
    model: get("--model"),
    shape: get("--shape"),
    concurrency: num("--concurrency"),
    tokens: num("--tokens"),
    requests: num("--requests"),
    trials: num("--trials"),
    threads: num("--threads"),
    warmup: num("--warmup"),
    arrivals: has("--burst") ? "burst" : "staggered",
    layout: has("--shared") ? "shared" : "split",
    upstreamCpus: get("--upstream-cpus"),
  })
    .then((r) => {
      if (has("--json")) console.log(JSON.stringify(r));
    })
    .catch((e: unknown) => {
      console.error(
        e instanceof Error
          ? `${e.message}${e.cause ? ` (${String((e.cause as Error).message ?? e.cause)})` : ""}`
          : String(e),
      );
      process.exitCode = 1;
    });
}
