// Serving benchmark: a real Reflexia server and llama.cpp's llama-server on the same GGUF file, threads, context and
// parallel slots, driven by one streaming OpenAI-chat HTTP client: aggregate tok/s and time to first token at several
// concurrencies (unique prompts), and a multi-turn chat on 2 slots; paired trials, median ratios.
// Run: reflexia benchmark serving --llama-server PATH [--model name:tag] [--concurrency 1,4,8] [--tokens 64]
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadConfig, type LoadedConfig, type PromptSplitMode } from "../config/index.ts";
import { resolveThreadPolicy } from "../engine/threads.ts";
import { loadNativeAddon } from "../engine/native/native-addon.ts";
import { createNativeEngine } from "../engine/native/native-engine.ts";
import { createStoreFromConfig } from "../registry/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import { median, percentile } from "./bench-stats.ts";
import { freePort } from "./free-port.ts";
import { runLlamaBench } from "./llama-bench.ts";
import { nonTextTokens } from "./non-text-tokens.ts";
import { collectSystemInfo, parseGgmlCpuVariant, type BenchmarkSystemInfo } from "./system-info.ts";
import { splitThreadCpu, threadCpuMs } from "./thread-cpu.ts";
import { startedAt, startReflexiaServe } from "./child-server.ts";
import { flatten } from "./start-bench-server.ts";

export interface ServingBenchmarkOptions {
  loaded: LoadedConfig;
  /** `name:tag` of the variant (both servers load its file). */
  model: string;
  /** llama-server built against the same libraries (native/tools/build-llama-reference.sh). */
  llamaServer: string;
  /** Decode threads of both. Defaults to performance.thread_pool_size, else the thread policy's. */
  threads?: number;
  /** KV pool of both (llama-server -c). Defaults to models.context_size. */
  contextSize?: number;
  /** Concurrency levels; the highest is both servers' parallel slots. Defaults to [1, 4, 8]. */
  concurrency?: number[];
  /** Tokens generated per request of the concurrency runs. Defaults to 64. */
  tokens?: number;
  /** Paired trials per figure. Defaults to 3. */
  trials?: number;
  /** Turns of the multi-turn chat (0 skips it). Defaults to 6. */
  turns?: number;
  /**
   * Start llama-server with `--kv-unified`: one KV pool shared by its slots, as Reflexia's is (any one request may use
   * the whole context), instead of `-c ÷ -np` cells per slot. Defaults to false (llama-server's default with `-np`).
   */
  llamaKvUnified?: boolean;
  /**
   * llama-bench built with llama-server (native/tools/build-llama-reference.sh): times each chat turn's new tokens at
   * its cached depth on the kernels alone (MultiTurnRow.kernel). Defaults to llama-bench beside llamaServer when there
   * is one.
   */
  llamaBench?: string;
  log?: (line: string) => void;
}

/** One side's numbers of one trial. */
export interface ServingSample {
  tokensPerSecond: number;
  ttftP50Ms: number;
  ttftP95Ms: number;
  /** Tokens the trial's answers held. Absent from results stored before 2026-12-03. */
  completionTokens?: number;
  /**
   * CPU the server's front used during the trial (threads busy less than half of it: HTTP, JSON, event loop; not the
   * decode threads), ms; absent where /proc cannot be read and from results stored before 2026-12-03.
   */
  frontCpuMs?: number;
}

export interface ServingRow {
  concurrency: number;
  reflexia: ServingSample[];
  llama: ServingSample[];
  /** Median over trials of Reflexia / llama-server: ≥ 1 is better for tok/s, ≤ 1 for TTFT. */
  medianRatio: { tokensPerSecond: number; ttftP50: number; ttftP95: number };
  /**
   * Front CPU per generated token over all trials, µs (frontCpuMs summed over completionTokens summed): what each
   * server's HTTP side takes from the cores its decode threads run on. Absent where /proc cannot be read.
   */
  frontCpuUsPerToken?: { reflexia: number; llama: number };
}

export interface MultiTurnRow {
  turn: number;
  /** Reflexia's prompt tokens and those it served from its prefix cache (median over trials). */
  promptTokens: number;
  cachedTokens: number;
  /**
   * Tokens no cache held (median): the prompt less the longer of the two servers' cached prefixes when both got the
   * same prompt, else less Reflexia's. Below cachedTokens' complement when a tile fill re-evaluated cached tokens.
   * Absent from results stored before 2026-12-03.
   */
  newTokens?: number;
  /** How many of the trials' prompts were the same on both servers (same answers before them). */
  samePrompts?: number;
  reflexiaTtftMs: number[];
  llamaTtftMs: number[];
  medianRatio: number;
  /** Reflexia's TTFT over (newTokens / the prompt rate of turn 1): 1 means only the new tokens cost time. */
  vsNewTokensBound: number;
  /** That bound, ms (median over trials). Absent from results stored before 2026-12-04. */
  newTokensBoundMs?: number;
  /**
   * What llama.cpp's kernels alone take for this turn (llama-bench, after the servers stopped, flash attention on as
   * both servers run it): the new tokens after the cached ones (`ppN @ dD`) and, below 64 new tokens, a full 64-row
   * batch at that depth (ggml-cpu's flash attention takes fewer than 64 rows one row at a time; Reflexia fills the
   * batch with cached tokens). `floorMs` is the faster of the two. Absent without llama-bench, and from turn 1 and
   * results stored before 2026-12-04.
   */
  kernel?: { newTokensMs: number; tileMs?: number; floorMs: number; command: string };
}

export interface ServingBenchmarkResult {
  kind: "serving";
  model: string;
  file: string;
  threads: number;
  contextSize: number;
  parallel: number;
  /** llama-server ran with one KV pool (--kv-unified). Absent from results stored before 2026-12-03 (it did not). */
  llamaKvUnified?: boolean;
  /** Reflexia's scheduler.prompt_split. Absent from results stored before 2026-12-03 (they ran "never"'s way). */
  promptSplit?: PromptSplitMode;
  tokens: number;
  trials: number;
  loadAverage: number[];
  /**
   * ggml's CPU variant each server process loaded (from its /proc/PID/maps; `haswell`, `sapphirerapids` …): both link
   * the same prebuilt libraries, so they should match; a mismatch means the ratios compare kernels too. Absent from
   * results stored before 2026-12-04, and a side whose maps could not be read is left out.
   */
  ggmlCpuVariants?: { reflexia?: string; llama?: string };
  /** The machine (CPU model, SIMD flags, cores, memory). Absent from results stored before 2026-12-04. */
  system?: BenchmarkSystemInfo;
  rows: ServingRow[];
  multiTurn: MultiTurnRow[];
}

interface Turn {
  ttftMs: number;
  completionTokens: number;
  promptTokens: number;
  cachedTokens: number;
  text: string;
}

type Message = { role: "system" | "user" | "assistant"; content: string };

/** The one client both servers get: a streamed /v1/chat/completions, timed to the first content. */
async function streamChat(base: string, body: Record<string, unknown>): Promise<Turn> {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    // A connection per request on both sides: llama-server closes its connection after each streamed answer without
    // saying so, and a client that reuses it may write into a closing socket ("fetch failed", seen at 8 concurrent).
    headers: { "content-type": "application/json", connection: "close" },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  if (!res.ok || !res.body) throw new ReflexiaError("RFX_ENGINE", `${base}: HTTP ${res.status} ${await res.text()}`);
  let ttft = Number.NaN;
  let buf = "";
  let text = "";
  let usage: {
    completion_tokens?: number;
    prompt_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number };
  } = {};
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk as Uint8Array, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, i).trim();
      buf = buf.slice(i + 2);
      if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
      const j = JSON.parse(event.slice(6)) as {
        choices?: { delta?: { content?: string } }[];
        usage?: typeof usage;
        error?: unknown;
      };
      if (j.error !== undefined) throw new ReflexiaError("RFX_ENGINE", `${base}: ${JSON.stringify(j.error)}`);
      const piece = j.choices?.[0]?.delta?.content;
      if (piece) {
        if (Number.isNaN(ttft)) ttft = performance.now() - t0;
        text += piece;
      }
      if (j.usage) usage = j.usage;
    }
  }
  if (usage.completion_tokens === undefined)
    throw new ReflexiaError("RFX_ENGINE", `${base}: the stream ended without usage`);
  return {
    ttftMs: Number.isNaN(ttft) ? performance.now() - t0 : ttft,
    completionTokens: usage.completion_tokens ?? 0,
    promptTokens: usage.prompt_tokens ?? 0,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    text,
  };
}

interface Side {
  name: "reflexia" | "llama";
  url: string;
  /** What requests name: Reflexia routes by it, llama-server serves its one file whatever the name. */
  model: string;
  /** Fields every request carries (the same on both sides: the logit_bias of runServingBenchmark). */
  extra: Record<string, unknown>;
  /** The server's process, whose threads' CPU each concurrency trial reads. */
  pid: number | undefined;
  close(): Promise<void>;
}

/** ggml's CPU variant that a server process has loaded, from its memory maps; undefined when they cannot be read. */
function loadedCpuVariant(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    return parseGgmlCpuVariant(readFileSync(`/proc/${pid}/maps`, "utf8"));
  } catch {
    return undefined;
  }
}

/** The log's words for the variants: one name when both loaded the same, both (and why it matters) when not. */
function describeVariants(v: { reflexia?: string; llama?: string }): string {
  if (v.reflexia && v.reflexia === v.llama) return `ggml CPU ${v.reflexia}`;
  return `ggml CPU Reflexia ${v.reflexia ?? "unknown"} vs llama-server ${v.llama ?? "unknown"} (different kernels: the ratios compare them too)`;
}

async function startLlamaServer(
  extra: Record<string, unknown>,
  bin: string,
  file: string,
  threads: number,
  poll: number,
  contextSize: number,
  parallel: number,
  kvUnified: boolean,
): Promise<Side> {
  const port = await freePort();
  const args = ["-m", file, "-t", String(threads), "-tb", String(threads), "-np", String(parallel)];
  if (kvUnified) args.push("--kv-unified");
  args.push("-c", String(contextSize), "--port", String(port), "--host", "127.0.0.1", "--poll", String(poll));
  const child: ChildProcess = spawn(bin, [...args, "--no-warmup"], { stdio: ["ignore", "ignore", "pipe"] });
  const url = `http://127.0.0.1:${port}`;
  return {
    name: "llama",
    url,
    model: "llama",
    extra,
    pid: child.pid,
    close: stopper(child, await startedAt(child, "llama-server", `${url}/health`)),
  };
}

/**
 * `reflexia serve` in a process of its own, as a user runs it, configured by a file only (the loaded configuration
 * with the benchmark's settings over it): the client runs in this process for both sides, so neither server shares
 * an event loop with it.
 */
async function startReflexia(
  base: LoadedConfig,
  dir: string,
  model: string,
  extra: Record<string, unknown>,
  overrides: Record<string, unknown>,
): Promise<Side> {
  const port = await freePort();
  const loaded = loadConfig({
    env: {},
    overrides: {
      ...flatten(base.config as unknown as Record<string, unknown>),
      ...overrides,
      "server.host": "127.0.0.1",
      "server.port": port,
      "server.metrics_port": await freePort(),
      "models.default": model,
      "cache.enabled": false,
      "auth.enabled": false,
      "server.rate_limit_per_minute": 0,
      "log.level": "warn",
    },
  });
  const configFile = join(dir, `reflexia-${port}.json`);
  await writeFile(configFile, JSON.stringify(loaded.config));
  const url = `http://127.0.0.1:${port}`;
  // /readyz answers once the default model (the benchmark's) is loaded.
  const { child, cleanup } = await startReflexiaServe(configFile, url);
  return { name: "reflexia", url, model, extra, pid: child.pid, close: stopper(child, cleanup) };
}

/** Kills a started child and resolves once it is gone (its cores are free for what runs next). */
function stopper(child: ChildProcess, cleanup: () => void): () => Promise<void> {
  return async () => {
    const gone = child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", r));
    cleanup();
    await gone;
  };
}

// ~60 tokens of words that differ per request from the first word on: no prefix is shared beyond the template.
const WORDS = "sea ship harbour wind sail rope anchor tide wave storm coast island map star compass deck".split(" ");
function uniquePrompt(seed: number): string {
  let x = seed * 2654435761;
  const out: string[] = [`Request ${seed}:`];
  for (let i = 0; i < 44; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(WORDS[x % WORDS.length]);
  }
  return out.join(" ");
}

async function concurrencyTrial(side: Side, n: number, tokens: number, seed: number): Promise<ServingSample> {
  const cpuBefore = threadCpuMs(side.pid);
  const t0 = performance.now();
  const turns = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      streamChat(side.url, {
        ...side.extra,
        model: side.model,
        messages: [{ role: "user", content: uniquePrompt(seed + i) }],
        max_tokens: tokens,
        temperature: 0.8,
        seed: seed + i,
      }),
    ),
  );
  const wall = performance.now() - t0;
  const cpuAfter = threadCpuMs(side.pid);
  const ttfts = turns.map((t) => t.ttftMs);
  const completionTokens = turns.reduce((s, t) => s + t.completionTokens, 0);
  return {
    tokensPerSecond: (completionTokens / wall) * 1000,
    ttftP50Ms: median(ttfts),
    ttftP95Ms: percentile(ttfts, 95),
    completionTokens,
    ...(cpuBefore && cpuAfter ? { frontCpuMs: splitThreadCpu(cpuBefore, cpuAfter, wall).frontMs } : {}),
  };
}

const SYSTEM_WORDS = "You are a patient harbour master who explains ships tides weather and knots to visitors".split(
  " ",
);
/** A ~600-word system prompt, distinct per trial from its first word (each trial starts cold on both servers). */
function systemPrompt(trial: number): string {
  const words = [`Trial ${trial}.`];
  for (let i = 0; words.length < 600; i++) words.push(SYSTEM_WORDS[(i * 7 + trial) % SYSTEM_WORDS.length]);
  return words.join(" ");
}

/** Tokens per chat answer. */
const ANSWER_TOKENS = 32;

/** One trial's chat; answerToken ≥ 0: every answer is that token repeated (see runServingBenchmark). */
async function conversation(side: Side, trial: number, turns: number, answerToken: number): Promise<Turn[]> {
  const force = answerToken < 0 ? {} : { logit_bias: { ...(side.extra.logit_bias as object), [answerToken]: 100 } };
  const messages: Message[] = [{ role: "system", content: systemPrompt(trial) }];
  const out: Turn[] = [];
  for (let k = 0; k < turns; k++) {
    messages.push({ role: "user", content: `Question ${k + 1}: what should a visitor know about ${WORDS[k]} today?` });
    const t = await streamChat(side.url, {
      ...side.extra,
      ...force,
      model: side.model,
      messages,
      max_tokens: ANSWER_TOKENS,
      temperature: 0,
      seed: 1,
    });
    messages.push({ role: "assistant", content: t.text });
    out.push(t);
  }
  return out;
}

const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;

export async function runServingBenchmark(options: ServingBenchmarkOptions): Promise<ServingBenchmarkResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const config = options.loaded.config;
  if (!existsSync(options.llamaServer))
    throw new ReflexiaError("RFX_NOT_FOUND", `llama-server not found: ${options.llamaServer}`);
  if (options.llamaBench && !existsSync(options.llamaBench))
    throw new ReflexiaError("RFX_NOT_FOUND", `llama-bench not found: ${options.llamaBench}`);
  const beside = join(dirname(options.llamaServer), "llama-bench");
  const llamaBench = options.llamaBench ?? (existsSync(beside) ? beside : undefined);
  const concurrency = options.concurrency ?? [1, 4, 8];
  const tokens = options.tokens ?? 64;
  const trials = options.trials ?? 3;
  const turns = options.turns ?? 6;
  const contextSize = options.contextSize ?? config.models.context_size;
  const policy = resolveThreadPolicy({ configured: options.threads ?? config.performance.thread_pool_size });
  const threads = policy.threads;
  const parallel = Math.max(...concurrency);

  // llama-server ends a stream whose text is not valid UTF-8 (the random byte tokens of synthetic models), so the
  // tokens that do not decode to text on their own are biased out (logit_bias -100, OpenAI's form, which both
  // servers add to the logits): every token streams text at once, and both sides get the same request.
  const banned: number[] = [];
  // The chat's answers are one token repeated (logit_bias +100), the same on both servers. Left to greedy picks, a
  // near-tie in a random-weight model's logits flips one server's answer now and then (its batch shapes differ), and
  // an answer whose text does not tokenize back into the same tokens is not found in the cache next turn: the two
  // servers then get different prompts (seen: 36 new tokens on one, 68 on the other in the same turn).
  let answerToken = -1;
  const file = (await createStoreFromConfig(config).resolve(options.model)).path;
  {
    const engine = createNativeEngine({ threads: 1 });
    try {
      const m = await engine.loadModel({ path: file, contextSize: 64, threads: 1 });
      banned.push(...nonTextTokens(m));
      const newline = m.tokenize("\n");
      for (let id = 0; id < m.info.vocabSize && answerToken < 0; id++) {
        const piece = m.detokenize([id]);
        if (!/^[a-z]{3,}$/.test(piece)) continue;
        const ids = m.tokenize(`\n${piece.repeat(ANSWER_TOKENS)}`);
        if (ids.join() === [...newline, ...new Array<number>(ANSWER_TOKENS).fill(id)].join()) answerToken = id;
      }
    } finally {
      await engine.dispose();
    }
  }

  // The configured scheduler.prompt_split (PROMPT_SPLIT=never compares llama-server's way of taking a burst).
  const promptSplit = options.loaded.config.scheduler.prompt_split;
  // repeat_penalty: llama-server's default is 1 (off), Reflexia's Ollama's 1.1; the same on both.
  const shared = { logit_bias: Object.fromEntries(banned.map((id) => [String(id), -100])), repeat_penalty: 1 };

  // Both servers for one slot count, started one after the other; both stay up for the paired trials.
  const dir = await mkdtemp(join(tmpdir(), "rfx-serving-"));
  const startBoth = async (slots: number): Promise<Side[]> => {
    const reflexia = await startReflexia(options.loaded, dir, options.model, shared, {
      "scheduler.parallel": slots,
      "scheduler.queue_size": Math.max(64, slots * 4),
      "models.context_size": contextSize,
      "performance.thread_pool_size": threads,
      "adaptive.enabled": false,
    });
    try {
      // Load the variant before timing anything.
      await streamChat(reflexia.url, {
        model: options.model,
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 1,
      });
      const llama = await startLlamaServer(
        shared,
        options.llamaServer,
        file,
        threads,
        policy.poll,
        contextSize,
        slots,
        options.llamaKvUnified ?? false,
      );
      return [reflexia, llama];
    } catch (e) {
      await reflexia.close();
      throw e;
    }
  };

  try {
    const rows: ServingRow[] = [];
    const variants: { reflexia?: string; llama?: string } = {};
    {
      const sides = await startBoth(parallel);
      try {
        for (const s of sides) {
          const v = loadedCpuVariant(s.pid);
          if (v) variants[s.name] = v;
        }
        log(
          `serving: ${options.model} (${file}), ${threads} threads, context ${contextSize}, ${parallel} slots${options.llamaKvUnified ? " (llama-server --kv-unified: one KV pool, as Reflexia's)" : ""}, Reflexia prompt split ${promptSplit}, ${tokens} tokens per request, ${trials} paired trials; ${describeVariants(variants)}; load ${loadavg()
            .map((x) => x.toFixed(2))
            .join(" ")}`,
        );
        for (const n of concurrency) {
          // One untimed trial of the row's shape on each side first (llama-bench's warm-up run): Node compiles its hot
          // paths as they become hot, on threads that share the decode threads' cores, and a server that has been up
          // a while has done so. Its prompts are its own, so no cache holds a timed trial's prompt.
          for (const s of sides) await concurrencyTrial(s, n, tokens, 999_000 + n * 100);
          const row: ServingRow = {
            concurrency: n,
            reflexia: [],
            llama: [],
            medianRatio: { tokensPerSecond: 0, ttftP50: 0, ttftP95: 0 },
          };
          for (let t = 0; t < trials; t++) {
            // Alternate who goes first; both get the same prompts and seeds.
            const order = t % 2 === 0 ? sides : [...sides].reverse();
            for (const s of order) row[s.name].push(await concurrencyTrial(s, n, tokens, (n * 100 + t) * 1000));
          }
          const r = (k: "tokensPerSecond" | "ttftP50Ms" | "ttftP95Ms") =>
            median(row.reflexia.map((x, i) => x[k] / row.llama[i][k]));
          row.medianRatio = {
            tokensPerSecond: ratio(r("tokensPerSecond"), 1),
            ttftP50: ratio(r("ttftP50Ms"), 1),
            ttftP95: ratio(r("ttftP95Ms"), 1),
          };
          const front = (xs: ServingSample[]) =>
            xs.every((x) => x.frontCpuMs !== undefined)
              ? Math.round(
                  (xs.reduce((s, x) => s + x.frontCpuMs!, 0) * 1000) /
                    Math.max(
                      1,
                      xs.reduce((s, x) => s + (x.completionTokens ?? 0), 0),
                    ),
                )
              : undefined;
          const fr = front(row.reflexia);
          const fl = front(row.llama);
          if (fr !== undefined && fl !== undefined) row.frontCpuUsPerToken = { reflexia: fr, llama: fl };
          const m = (xs: ServingSample[], k: "tokensPerSecond" | "ttftP50Ms") => median(xs.map((x) => x[k])).toFixed(1);
          log(
            `  ${n} concurrent: tok/s ${m(row.reflexia, "tokensPerSecond")} vs ${m(row.llama, "tokensPerSecond")} (${row.medianRatio.tokensPerSecond}x), TTFT p50 ${m(row.reflexia, "ttftP50Ms")} vs ${m(row.llama, "ttftP50Ms")} ms (${row.medianRatio.ttftP50}x), p95 ${row.medianRatio.ttftP95}x` +
              (row.frontCpuUsPerToken ? `; front CPU ${fr} vs ${fl} µs per token` : ""),
          );
          rows.push(row);
        }
      } finally {
        for (const s of sides) await s.close();
      }
    }

    const multiTurn: MultiTurnRow[] = [];
    if (turns > 0) {
      const sides = await startBoth(2);
      try {
        log(
          `multi-turn: ${turns} turns, ~600-word system prompt, 2 slots, ${ANSWER_TOKENS} tokens per answer, ${answerToken < 0 ? "greedy (no token repeats into its own tokens)" : `token ${answerToken} repeated`}`,
        );
        const runs: Record<Side["name"], Turn[][]> = { reflexia: [], llama: [] };
        for (let t = 0; t < trials; t++) {
          const order = t % 2 === 0 ? sides : [...sides].reverse();
          for (const s of order) runs[s.name].push(await conversation(s, t, turns, answerToken));
        }
        for (let k = 0; k < turns; k++) {
          const rf = runs.reflexia.map((c) => c[k]);
          const ll = runs.llama.map((c) => c[k]);
          // Prompt rate of this machine: turn 1 (nothing cached) of the same trial.
          const same = rf.map((x, i) => x.text === ll[i].text && x.promptTokens === ll[i].promptTokens);
          const fresh = rf.map(
            (x, i) => x.promptTokens - (same[i] ? Math.max(x.cachedTokens, ll[i].cachedTokens) : x.cachedTokens),
          );
          const boundMs = rf.map((_, i) => {
            const first = runs.reflexia[i][0];
            return Math.max(1, fresh[i]) / (first.promptTokens / first.ttftMs);
          });
          const row: MultiTurnRow = {
            turn: k + 1,
            promptTokens: median(rf.map((x) => x.promptTokens)),
            cachedTokens: median(rf.map((x) => x.cachedTokens)),
            newTokens: median(fresh),
            samePrompts: same.filter(Boolean).length,
            reflexiaTtftMs: rf.map((x) => Math.round(x.ttftMs)),
            llamaTtftMs: ll.map((x) => Math.round(x.ttftMs)),
            medianRatio: ratio(median(rf.map((x, i) => x.ttftMs / ll[i].ttftMs)), 1),
            vsNewTokensBound: ratio(median(rf.map((x, i) => x.ttftMs / boundMs[i])), 1),
            newTokensBoundMs: Math.round(median(boundMs) * 10) / 10,
          };
          log(
            `  turn ${row.turn}: prompt ${row.promptTokens} (cached ${row.cachedTokens}, new ${row.newTokens}; same prompt on both in ${row.samePrompts}/${rf.length}), TTFT ${median(row.reflexiaTtftMs).toFixed(0)} vs ${median(row.llamaTtftMs).toFixed(0)} ms (${row.medianRatio}x), ${row.vsNewTokensBound}x the new-token bound`,
          );
          multiTurn.push(row);
        }
      } finally {
        for (const s of sides) await s.close();
      }
      if (llamaBench) {
        log(`  kernel floor of turns 2-${turns}: llama-bench (${llamaBench}), ${threads} threads, flash attention on`);
        const tileRows = loadNativeAddon().addon.attentionTileRows;
        for (const row of multiTurn.slice(1)) {
          const n = Math.max(1, row.newTokens ?? row.promptTokens - row.cachedTokens);
          const tile = n < tileRows;
          const { rows: lb, command } = runLlamaBench(llamaBench, [
            ...["-m", file, "-t", String(threads), "-ngl", "0", "-fa", "1", "-n", "0", "-r", "3"],
            ...["-p", tile ? `${n},${tileRows}` : String(n), "-d", String(row.cachedTokens)],
          ]);
          const ms = (p: number) => {
            const r = lb.find((x) => x.n_prompt === p && x.n_gen === 0);
            return r ? Math.round((p / r.avg_ts) * 10000) / 10 : NaN;
          };
          const kernel = { newTokensMs: ms(n), ...(tile ? { tileMs: ms(tileRows) } : {}) };
          row.kernel = { ...kernel, floorMs: Math.min(kernel.newTokensMs, kernel.tileMs ?? Infinity), command };
          log(
            `  turn ${row.turn}: kernels ${row.kernel.floorMs} ms (llama-bench pp${n} @ d${row.cachedTokens} ${kernel.newTokensMs} ms${tile ? `, pp${tileRows} ${kernel.tileMs} ms` : ""}); Reflexia ${ratio(median(row.reflexiaTtftMs), row.kernel.floorMs)}x that, llama-server ${ratio(median(row.llamaTtftMs), row.kernel.floorMs)}x; 1.5x the new-token bound is ${((row.newTokensBoundMs ?? 0) * 1.5).toFixed(0)} ms`,
          );
        }
      }
    }
    return {
      kind: "serving",
      model: options.model,
      file,
      threads,
      contextSize,
      parallel,
      ...(options.llamaKvUnified ? { llamaKvUnified: true } : {}),
      promptSplit,
      tokens,
      trials,
      loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
      ggmlCpuVariants: variants,
      system: {
        ...collectSystemInfo(),
        ...(variants.reflexia ? { ggmlCpuVariant: variants.reflexia } : {}),
      },
      rows,
      multiTurn,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
