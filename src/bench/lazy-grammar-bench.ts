// Time of a reply with tools offered and no call forced (tool_choice auto: a lazy grammar waiting for <tool_call>)
// against the same reply without tools, and with the trigger pattern alone (llama.cpp matching it over the whole
// output on every token, as before the sampler watched for the trigger word): one process, same seed, in turn.
// npx tsx src/bench/lazy-grammar-bench.ts --model reflexia-tiny:q4_0 [--tokens 400,800] [--seed 3] [--threads N]
import { fileURLToPath } from "node:url";
import { loadConfig } from "../config/index.ts";
import { createNativeEngine } from "../engine/native/native-engine.ts";
import type { GrammarConstraint } from "../engine/types.ts";
import { createStoreFromConfig } from "../registry/index.ts";
import { planTools } from "../services/structured/tool-calls.ts";
import { scriptArgs } from "./script-args.ts";

export interface LazyGrammarRow {
  maxTokens: number;
  mode: "no tools" | "trigger pattern only" | "trigger word";
  tokens: number;
  ms: number;
}

export async function runLazyGrammarBench(options: {
  path: string;
  maxTokens: number[];
  seed: number;
  threads?: number;
  log?: (line: string) => void;
}): Promise<LazyGrammarRow[]> {
  const log = options.log ?? ((l: string) => console.log(l));
  const engine = createNativeEngine({ threads: options.threads });
  try {
    const model = await engine.loadModel({ path: options.path, contextSize: 4096, parallel: 2 });
    const lazy = planTools([{ name: "get_weather", parameters: { type: "object" } }], "auto").lazyGrammar!;
    const modes: [LazyGrammarRow["mode"], GrammarConstraint | undefined][] = [
      ["no tools", undefined],
      ["trigger pattern only", { ...lazy, triggerWords: undefined }],
      ["trigger word", lazy],
    ];
    const rows: LazyGrammarRow[] = [];
    for (const maxTokens of options.maxTokens)
      for (const [mode, grammar] of modes) {
        const t0 = performance.now();
        const r = await model.generate("Tell me a story", {
          maxTokens,
          seed: options.seed,
          temperature: 1.5,
          ...(grammar ? { grammar } : {}),
        });
        const row = { maxTokens, mode, tokens: r.completionTokens, ms: Math.round(performance.now() - t0) };
        rows.push(row);
        log(`  max ${maxTokens}, ${mode}: ${row.tokens} tokens in ${row.ms} ms`);
      }
    return rows;
  } finally {
    await engine.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { get, num } = scriptArgs();
  const { config } = loadConfig({ env: process.env });
  const variant = await createStoreFromConfig(config).resolve(get("--model") ?? "reflexia-tiny:q4_0");
  await runLazyGrammarBench({
    path: variant.path,
    maxTokens: (get("--tokens") ?? "400,800").split(",").map(Number),
    seed: num("--seed") ?? 3,
    threads: num("--threads"),
  });
}
