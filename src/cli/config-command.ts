// `reflexia config`: every configuration key with its value, source and description, and the GPU backend it yields.
import type { Command } from "commander";
import { describeConfig } from "../config/index.ts";
import type { CliContextFactory } from "./context.ts";
import { printJson, table } from "./output.ts";

/** What GPU=… decides on this machine (the native engine's choice), or why it cannot be decided. */
async function gpuChoice(
  mode: Parameters<(typeof import("../engine/native/native-addon.ts"))["selectNativeGpu"]>[0],
  engine: string,
) {
  if (engine === "node-llama-cpp")
    return {
      requested: mode,
      backend: "cpu",
      reason: "ENGINE=node-llama-cpp runs on the CPU (GPU offload needs the native engine)",
    };
  try {
    const { selectNativeGpu } = await import("../engine/native/native-addon.ts");
    const s = selectNativeGpu(mode);
    return { requested: s.requested, backend: s.backend, reason: s.reason };
  } catch (e) {
    return {
      requested: mode,
      backend: "cpu",
      reason: `the native engine is unavailable (${e instanceof Error ? e.message : String(e)})`,
    };
  }
}

export function registerConfigCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("config")
    .description(
      "print every configuration key, its value, source (default|file|env|override) and description, and the GPU backend chosen",
    )
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const ctx = await getContext({ needsStore: false });
      const rows = describeConfig(ctx.loaded);
      const gpu = await gpuChoice(ctx.loaded.config.gpu.backend, ctx.loaded.config.engine.backend);
      if (opts.json) return printJson({ file: ctx.loaded.file ?? null, keys: rows, gpu });
      if (ctx.loaded.file) process.stdout.write(`config file: ${ctx.loaded.file}\n\n`);
      process.stdout.write(
        table(
          rows.map((r) => ({ ...r, value: JSON.stringify(r.value) })),
          ["key", "env", "value", "source", "description"],
        ) + "\n",
      );
      process.stdout.write(`\nGPU backend: ${gpu.backend} — ${gpu.reason}\n`);
    });
}
