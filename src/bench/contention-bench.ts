// Contention benchmark: single-stream decode tok/s of the native engine with and without a competing CPU hog (busy
// processes on every core), adaptive threads on and off, next to llama-bench's tg under the same hog.
// Run: reflexia benchmark contention [--model name:tag] [--llama-bench PATH] [--tokens 64]
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { createNativeEngine } from "../engine/native/native-engine.ts";
import { availableCores, resolveThreadPolicy } from "../engine/threads.ts";
import { ReflexiaError } from "../errors/index.ts";
import { median } from "./bench-stats.ts";
import { runLlamaBench } from "./llama-bench.ts";

export interface ContentionBenchmarkOptions {
  modelPath: string;
  /** Decode threads. Defaults to the thread policy's. */
  threads?: number;
  /** Tokens per measured generation. Defaults to 64. */
  tokens?: number;
  /** Measured generations per figure (median). Defaults to 3. */
  repetitions?: number;
  llamaBench?: string;
  log?: (line: string) => void;
}

export interface ContentionRow {
  hog: boolean;
  adaptive: number;
  fixed: number;
  llamaBench: number | null;
  /** Governor activity of the adaptive engine during this row. */
  reducedThreadCalls: number;
  contentionEvents: number;
}

export interface ContentionBenchmarkResult {
  kind: "contention";
  model: string;
  threads: number;
  tokens: number;
  hogProcesses: number;
  loadAverage: number[];
  rows: ContentionRow[];
  /** adaptive / llama-bench under the hog, and adaptive / fixed under the hog. */
  ratios: { adaptiveVsLlamaBenchUnderHog: number | null; adaptiveVsFixedUnderHog: number };
}

function startHog(n: number): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
}

export async function runContentionBenchmark(options: ContentionBenchmarkOptions): Promise<ContentionBenchmarkResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  if (!existsSync(options.modelPath)) throw new ReflexiaError("RFX_NOT_FOUND", `not found: ${options.modelPath}`);
  if (options.llamaBench && !existsSync(options.llamaBench))
    throw new ReflexiaError("RFX_NOT_FOUND", `not found: ${options.llamaBench}`);
  const threads = resolveThreadPolicy({ configured: options.threads }).threads;
  const tokens = options.tokens ?? 64;
  const reps = options.repetitions ?? 3;
  const hogs = availableCores();
  const adaptiveEngine = createNativeEngine({ threads, adaptiveThreads: true });
  const fixedEngine = createNativeEngine({ threads, adaptiveThreads: false });
  const load = { path: options.modelPath, parallel: 1, contextSize: 512, threads };
  const adaptive = await adaptiveEngine.loadModel(load);
  const fixed = await fixedEngine.loadModel(load);
  const decodeRate = async (m: typeof adaptive): Promise<number> => {
    const rates: number[] = [];
    for (let i = 0; i < reps; i++) {
      const r = await m.generate(`Sample ${i}: the sea`, { maxTokens: tokens, ignoreEos: true, seed: i + 1 });
      rates.push(((r.completionTokens - 1) / r.timings.evalMs) * 1000);
    }
    return median(rates);
  };
  const llamaBench = (): number | null => {
    if (!options.llamaBench) return null;
    const args = ["-m", options.modelPath, "-t", String(threads), "-p", "0", "-n", String(tokens), "-r", String(reps)];
    return runLlamaBench(options.llamaBench, args).rows[0]?.avg_ts ?? null;
  };
  const rows: ContentionRow[] = [];
  try {
    await adaptive.generate("warm up", { maxTokens: 8, ignoreEos: true });
    await fixed.generate("warm up", { maxTokens: 8, ignoreEos: true });
    for (const hog of [false, true]) {
      const procs = hog ? startHog(hogs) : [];
      try {
        if (hog) await new Promise((r) => setTimeout(r, 500));
        const before = adaptive.stats();
        const row: ContentionRow = {
          hog,
          adaptive: await decodeRate(adaptive),
          fixed: await decodeRate(fixed),
          llamaBench: llamaBench(),
          reducedThreadCalls: 0,
          contentionEvents: 0,
        };
        const after = adaptive.stats();
        row.reducedThreadCalls = after.reducedThreadCalls - before.reducedThreadCalls;
        row.contentionEvents = after.contentionEvents - before.contentionEvents;
        const f = (x: number | null) => (x === null ? "–" : x.toFixed(1));
        log(
          `${hog ? `with ${hogs} busy processes` : "no hog"}: adaptive ${f(row.adaptive)} tok/s, fixed ${f(row.fixed)}, llama-bench ${f(row.llamaBench)} (${row.reducedThreadCalls} one-thread calls, ${row.contentionEvents} contention events); load ${loadavg()[0].toFixed(2)}`,
        );
        rows.push(row);
      } finally {
        for (const p of procs) p.kill("SIGKILL");
      }
    }
  } finally {
    await adaptiveEngine.dispose();
    await fixedEngine.dispose();
  }
  const hogRow = rows[1];
  const r = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
  return {
    kind: "contention",
    model: options.modelPath,
    threads,
    tokens,
    hogProcesses: hogs,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    rows,
    ratios: {
      adaptiveVsLlamaBenchUnderHog: hogRow.llamaBench ? r(hogRow.adaptive, hogRow.llamaBench) : null,
      adaptiveVsFixedUnderHog: r(hogRow.adaptive, hogRow.fixed),
    },
  };
}
