// `reflexia config`: every configuration key with its value, source and description.
import type { Command } from "commander";
import { describeConfig } from "../config/index.ts";
import type { CliContextFactory } from "./context.ts";
import { printJson, table } from "./output.ts";

export function registerConfigCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("config")
    .description("print every configuration key, its value, source (default|file|env|override) and description")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const ctx = await getContext({ needsStore: false });
      const rows = describeConfig(ctx.loaded);
      if (opts.json) return printJson({ file: ctx.loaded.file ?? null, keys: rows });
      if (ctx.loaded.file) process.stdout.write(`config file: ${ctx.loaded.file}\n\n`);
      process.stdout.write(table(rows.map((r) => ({ ...r, value: JSON.stringify(r.value) })), ["key", "env", "value", "source", "description"]) + "\n");
    });
}
