// Cost of grammar-constrained sampling: decode tok/s of the same model and prompt unconstrained, with a JSON Schema
// grammar, and with a grammar that allows any text (the pure cost of checking each token), runs interleaved so machine
// load hits each alike; the ratios are the result.
import { createNativeEngine } from "../engine/native/native-engine.ts";
import { jsonSchemaToGbnf } from "../engine/grammar.ts";
import type { GrammarConstraint } from "../engine/types.ts";
import { median } from "./bench-stats.ts";

export interface GrammarBenchmarkOptions {
  modelPath: string;
  /** Decode threads; 0 or undefined uses the engine's thread policy. */
  threads?: number;
  /** Tokens generated per run at most (a grammar may end a run earlier). Defaults to 128. */
  tokens?: number;
  /** Runs of each mode; the median is reported. Defaults to 5. */
  repetitions?: number;
  /** Receives each printed line. Defaults to console.log. */
  log?: (line: string) => void;
}

export const GRAMMAR_BENCH_MODES = ["unconstrained", "json_schema", "any_text"] as const;
export type GrammarBenchMode = (typeof GRAMMAR_BENCH_MODES)[number];

export interface GrammarModeResult {
  mode: GrammarBenchMode;
  /** 1000 / the median time between two generated tokens over all runs (robust to load spikes on a shared host). */
  tokensPerSecond: number;
  /** Median generated tokens per run. */
  tokens: number;
  /** Unconstrained tok/s divided by this mode's: the cost factor of the constraint (1 = free). */
  costFactor: number;
}

export interface GrammarBenchmarkResult {
  modelPath: string;
  threads: number;
  modes: GrammarModeResult[];
}

// A schema whose string field lets a run last: text until the budget, then the grammar's own close-out.
const SCHEMA = {
  type: "object",
  properties: { title: { type: "string" }, year: { type: "integer" }, summary: { type: "string" } },
  required: ["title", "year", "summary"],
  additionalProperties: false,
};

export async function runGrammarBenchmark(options: GrammarBenchmarkOptions): Promise<GrammarBenchmarkResult> {
  const log = options.log ?? console.log;
  const tokens = options.tokens ?? 128;
  const repetitions = options.repetitions ?? 5;
  const engine = createNativeEngine({ threads: options.threads });
  const model = await engine.loadModel({ path: options.modelPath, contextSize: 2048, parallel: 1 });
  try {
    const grammars: Record<GrammarBenchMode, GrammarConstraint | undefined> = {
      unconstrained: undefined,
      json_schema: { gbnf: jsonSchemaToGbnf(SCHEMA), closeJson: true },
      // Every token's text passes, so no resampling: what remains is the per-token check and grammar update.
      any_text: { gbnf: "root ::= [^\\x00]*" },
    };
    const prompt = model.formatChat([
      { role: "user", content: "Describe a film as JSON with a title, year and summary." },
    ]);
    const gaps: Record<GrammarBenchMode, number[]> = { unconstrained: [], json_schema: [], any_text: [] };
    const counts: Record<GrammarBenchMode, number[]> = { unconstrained: [], json_schema: [], any_text: [] };
    // One warm-up run, then the modes in turn for each repetition, the order rotated so none always runs first.
    await model.generate(prompt, { maxTokens: 16, temperature: 0.8, seed: 1 });
    for (let r = 0; r < repetitions; r++) {
      const order = GRAMMAR_BENCH_MODES.map((_, i) => GRAMMAR_BENCH_MODES[(i + r) % GRAMMAR_BENCH_MODES.length]);
      for (const mode of order) {
        const res = await model.generate(prompt, {
          maxTokens: tokens,
          temperature: 0.8,
          seed: 100 + r,
          grammar: grammars[mode],
          // Unconstrained runs generate the whole budget, as the constrained ones mostly do.
          ignoreEos: mode === "unconstrained",
        });
        gaps[mode].push(...res.timings.interTokenMs);
        counts[mode].push(res.completionTokens);
      }
    }
    const base = 1000 / median(gaps.unconstrained);
    const modes = GRAMMAR_BENCH_MODES.map((mode) => {
      const tps = 1000 / median(gaps[mode]);
      return { mode, tokensPerSecond: tps, tokens: median(counts[mode]), costFactor: base / tps };
    });
    log(`grammar cost on ${options.modelPath} (${model.threads} threads, ${tokens} tokens, ${repetitions} runs each)`);
    for (const m of modes)
      log(
        `  ${m.mode.padEnd(14)} ${m.tokensPerSecond.toFixed(1).padStart(7)} tok/s  ${String(m.tokens).padStart(4)} tokens  cost ×${m.costFactor.toFixed(3)}`,
      );
    return { modelPath: options.modelPath, threads: model.threads, modes };
  } finally {
    await model.dispose();
    await engine.dispose();
  }
}
