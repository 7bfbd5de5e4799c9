// Prompt time of a continued conversation (k new tokens after d cached ones) with the decode loop's tile fill
// ("auto") and without it ("never"): the same file, two contexts in one process, alternating, median of repetitions.
// npx tsx src/bench/tile-fill-bench.ts --model small:q4_0 [--depths 300,800,1400,2500] [--new 8,16,24,32,40,48,56,63]
//   [--repetitions 3] [--threads N]
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../config/index.ts";
import { createNativeEngine, type NativeLoadedModel, type TileFillMode } from "../engine/native/native-engine.ts";
import { createStoreFromConfig } from "../registry/index.ts";
import { median } from "./bench-stats.ts";
import { scriptArgs } from "./script-args.ts";

export interface TileFillRow {
  depth: number;
  newTokens: number;
  /** Prompt evaluation ms (admission to first token), median of the repetitions. */
  neverMs: number;
  autoMs: number;
  /** Prompt tokens the "auto" context evaluated (64 when it filled). */
  autoEvaluated: number;
}

export async function runTileFillBench(options: {
  path: string;
  depths: number[];
  newTokens: number[];
  repetitions: number;
  threads?: number;
  log?: (line: string) => void;
}): Promise<TileFillRow[]> {
  const log = options.log ?? ((l: string) => console.log(l));
  const modes: TileFillMode[] = ["never", "auto"];
  const engines = modes.map((tileFill) =>
    createNativeEngine({ threads: options.threads, prefixCache: true, tileFill }),
  );
  try {
    const maxDepth = Math.max(...options.depths) + Math.max(...options.newTokens) + 16;
    const models: NativeLoadedModel[] = [];
    for (const e of engines)
      models.push(await e.loadModel({ path: options.path, contextSize: maxDepth * 2, parallel: 2 }));
    const m0 = models[0];
    // Token-exact texts: a base of d tokens (distinct per repetition from its first token) and k more.
    const words = "harbour tide wind rope sail anchor storm coast island compass deck lantern".split(" ");
    const tokensOf = (n: number, seed: number) => {
      for (let count = n + 8; ; count *= 2) {
        const text = Array.from({ length: count }, (_, i) => words[(i * 7 + seed) % words.length]).join(" ");
        const ids = m0.tokenize(text);
        if (ids.length >= n) return ids.slice(0, n);
      }
    };
    log(
      `tile fill: ${options.path}, ${models[0].threads} threads, load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}`,
    );
    const rows: TileFillRow[] = [];
    for (const depth of options.depths) {
      for (const k of options.newTokens) {
        const ms: number[][] = modes.map(() => []);
        let evaluated = 0;
        for (let r = 0; r < options.repetitions; r++) {
          const base = tokensOf(depth, r * 31 + depth);
          const prompt = m0.detokenize(base);
          const turn = prompt + m0.detokenize(tokensOf(k, r + 5));
          for (const [i, m] of models.entries()) {
            await m.generate(prompt, { maxTokens: 1, temperature: 0 });
            const g = await m.generate(turn, { maxTokens: 1, temperature: 0 });
            ms[i].push(g.timings.promptEvalMs);
            if (i === 1) evaluated = g.promptTokens - (g.cachedPromptTokens ?? 0);
          }
        }
        const row: TileFillRow = {
          depth,
          newTokens: k,
          neverMs: median(ms[0]),
          autoMs: median(ms[1]),
          autoEvaluated: evaluated,
        };
        rows.push(row);
        log(
          `  ${depth} cached + ${k} new: never ${row.neverMs.toFixed(0)} ms, auto ${row.autoMs.toFixed(0)} ms (${evaluated} evaluated), auto ÷ never ${(row.autoMs / row.neverMs).toFixed(2)}`,
        );
      }
    }
    return rows;
  } finally {
    for (const e of engines) await e.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { get, num } = scriptArgs();
  const list = (k: string, d: string) => (get(k) ?? d).split(",").map(Number);
  const { config } = loadConfig({ env: process.env });
  const variant = await createStoreFromConfig(config).resolve(get("--model") ?? "small:q4_0");
  await runTileFillBench({
    path: variant.path,
    depths: list("--depths", "300,800,1400,2500"),
    newTokens: list("--new", "8,16,24,32,40,48,56,63"),
    repetitions: num("--repetitions") ?? 3,
    threads: num("--threads"),
  });
}
