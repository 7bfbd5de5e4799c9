// llama-bench, the reference the benchmarks measure against: one run with JSON output, its rows as llama-bench
// writes them (one per test: a prompt of n_prompt tokens after n_depth cached, or n_gen generated tokens).
import { spawnSync } from "node:child_process";
import { ReflexiaError } from "../errors/index.ts";

export interface LlamaBenchRow {
  n_prompt: number;
  n_gen: number;
  /** Tokens in the cache before the test (`-d`). */
  n_depth?: number;
  avg_ts: number;
  backends?: string;
  n_gpu_layers?: number;
}

/** Runs `bin` with `args` and `-o json`; RFX_ENGINE with the end of its stderr when it fails. */
export function runLlamaBench(bin: string, args: string[]): { rows: LlamaBenchRow[]; command: string } {
  const all = [...args, "-o", "json"];
  const res = spawnSync(bin, all, { encoding: "utf8", maxBuffer: 16 << 20 });
  if (res.status !== 0)
    throw new ReflexiaError("RFX_ENGINE", `llama-bench failed: ${(res.stderr ?? String(res.error)).slice(-500)}`);
  return { rows: JSON.parse(res.stdout) as LlamaBenchRow[], command: [bin, ...all].join(" ") };
}
