// Benchmark of the library's batchGenerate against the same prompts generated one after another, on one pinned
// variant with a fixed number of parallel sequences: the wall-time ratio shows what the scheduler's batching buys.
// Run: npm run bench:batch -- [--shape small] [--prompts 8] [--tokens 64] [--parallel 4] [--rounds 2] [--threads N]
//        [--home DIR]
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { createReflexia } from "./create-reflexia.ts";

export interface BatchBenchOptions {
  /** Synthetic shape of the model measured (written once into `home`). Defaults to "small". */
  shape?: string;
  /** Prompts per round. Defaults to 8. */
  prompts?: number;
  /** Tokens generated per prompt. Defaults to 64. */
  tokens?: number;
  /** Parallel sequences of the variant (scheduler.parallel), also batchGenerate's concurrency. Defaults to 4. */
  parallel?: number;
  /** Rounds of (sequential, batch); the medians are reported. Defaults to 2. */
  rounds?: number;
  /** Decode threads (performance.thread_pool_size). Defaults to the measured default for the cores (0). */
  threads?: number;
  /** Model store to use (keeps the synthetic model between runs). Defaults to a temp folder removed after. */
  home?: string;
  log?: (line: string) => void;
}

export interface BatchBenchResult {
  model: string;
  prompts: number;
  tokens: number;
  parallel: number;
  /** Decode threads asked for (0: the engine's default for the cores). */
  threads: number;
  rounds: { sequentialMs: number; batchMs: number; sequentialTokens: number; batchTokens: number }[];
  sequentialMs: number;
  batchMs: number;
  /** Median over the rounds of batch time / sequential time (each round's pair runs back to back): below 1, batching helped. */
  ratio: number;
  loadAverage: number[];
}

const TOPICS = [
  "What is quantum computing?",
  "Explain machine learning",
  "Summarize the history of the internet",
  "How does a compiler turn source code into machine code?",
  "Why is the sky blue?",
  "Describe the water cycle",
  "What are the trade-offs of microservices?",
  "How do vaccines train the immune system?",
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function runBatchBenchmark(options: BatchBenchOptions = {}): Promise<BatchBenchResult> {
  const shape = options.shape ?? "small";
  const count = options.prompts ?? 8;
  const tokens = options.tokens ?? 64;
  const parallel = options.parallel ?? 4;
  const roundCount = options.rounds ?? 2;
  const log = options.log ?? (() => {});
  const home = options.home ?? (await mkdtemp(join(tmpdir(), "rfx-batch-bench-")));
  const name = `bench-${shape}`;
  const reflexia = await createReflexia({
    env: {},
    home,
    ensureDefaultModel: false,
    documentStore: false,
    models: { default: name, keep_alive_seconds: -1 },
    scheduler: { parallel },
    performance: { thread_pool_size: options.threads ?? 0 },
    // Every generation must run: a cache hit would time nothing.
    cache: { enabled: false },
    adaptive: { enabled: false },
  });
  try {
    const model = `${name}:q4_0`;
    if (!(await reflexia.models.list()).some((m) => m.name === name)) {
      log(`writing the synthetic ${shape} model (q4_0) into ${home}`);
      await reflexia.models.synth({ name, shape, quant: ["q4_0"], seed: 1 });
    }
    // Distinct prompts (no shared prefix to reuse), a fixed seed so both modes sample alike.
    const prompts = Array.from({ length: count }, (_, i) => `${TOPICS[i % TOPICS.length]} (${i + 1})`);
    const request = { model, maxTokens: tokens, temperature: 0.7, seed: 11 };
    await reflexia.generate({ ...request, prompt: "warm up", maxTokens: 2 });
    const rounds: BatchBenchResult["rounds"] = [];
    const sequential = async () => {
      const t0 = performance.now();
      let n = 0;
      for (const prompt of prompts) n += (await reflexia.generate({ ...request, prompt })).completionTokens;
      return { ms: performance.now() - t0, tokens: n };
    };
    const batch = async () => {
      const t0 = performance.now();
      const items = await reflexia.batchGenerate(prompts, { ...request, concurrency: parallel });
      const ms = performance.now() - t0;
      const failed = items.find((i) => !i.ok);
      if (failed && !failed.ok) throw failed.error;
      return { ms, tokens: items.reduce((n, i) => n + (i.ok ? i.result.completionTokens : 0), 0) };
    };
    for (let r = 0; r < roundCount; r++) {
      // Alternating which mode goes first spreads a drift in the machine's load over both.
      let s: { ms: number; tokens: number };
      let b: { ms: number; tokens: number };
      if (r % 2 === 0) {
        s = await sequential();
        b = await batch();
      } else {
        b = await batch();
        s = await sequential();
      }
      rounds.push({ sequentialMs: s.ms, batchMs: b.ms, sequentialTokens: s.tokens, batchTokens: b.tokens });
      log(
        `round ${r + 1}: sequential ${s.ms.toFixed(0)} ms (${s.tokens} tokens), ` +
          `batch ${b.ms.toFixed(0)} ms (${b.tokens} tokens), ratio ${(b.ms / s.ms).toFixed(2)}`,
      );
    }
    const sequentialMs = median(rounds.map((r) => r.sequentialMs));
    const batchMs = median(rounds.map((r) => r.batchMs));
    return {
      model,
      prompts: count,
      tokens,
      parallel,
      threads: options.threads ?? 0,
      rounds,
      sequentialMs,
      batchMs,
      ratio: median(rounds.map((r) => r.batchMs / r.sequentialMs)),
      loadAverage: loadavg(),
    };
  } finally {
    await reflexia.close();
    if (!options.home) await rm(home, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      shape: { type: "string" },
      prompts: { type: "string" },
      tokens: { type: "string" },
      parallel: { type: "string" },
      rounds: { type: "string" },
      threads: { type: "string" },
      home: { type: "string" },
    },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const result = await runBatchBenchmark({
    shape: values.shape,
    prompts: num(values.prompts),
    tokens: num(values.tokens),
    parallel: num(values.parallel),
    rounds: num(values.rounds),
    threads: num(values.threads),
    home: values.home,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(
    `${result.model}: ${result.prompts} prompts × ${result.tokens} tokens, parallel ${result.parallel}: ` +
      `sequential ${(result.sequentialMs / 1000).toFixed(2)} s, batchGenerate ${(result.batchMs / 1000).toFixed(2)} s, ` +
      `ratio ${result.ratio.toFixed(2)} (load average ${result.loadAverage.map((x) => x.toFixed(2)).join(" ")})\n`,
  );
}
