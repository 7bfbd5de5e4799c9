// `reflexia usage`: per-key requests, errors and tokens, summed from the usage log under the home.
import type { Command } from "commander";
import { toReflexiaError } from "../errors/index.ts";
import { parseSince, summarizeUsage } from "../services/usage-ledger.ts";
import type { CliContextFactory } from "./context.ts";
import { printJson, reportError, table } from "./output.ts";

export function registerUsageCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("usage")
    .description("per API key: requests, errors and tokens in/out, from the usage log ($REFLEXIA_HOME/usage)")
    .option("--since <when>", "only requests since then: 30m, 24h, 7d or an ISO date")
    .option("--json", "machine-readable output")
    .action(async (opts: { since?: string; json?: boolean }) => {
      try {
        const ctx = await getContext();
        const since = opts.since ? parseSince(opts.since) : 0;
        const rows = summarizeUsage(ctx.loaded.config.home, since);
        if (opts.json) return printJson({ since: since ? new Date(since).toISOString() : null, keys: rows });
        if (rows.length === 0) {
          process.stdout.write("no usage recorded\n");
          return;
        }
        process.stdout.write(
          table(
            rows.map((r) => ({
              key: r.key,
              requests: r.requests,
              errors: r.errors,
              tokens_in: r.prompt_tokens,
              tokens_out: r.completion_tokens,
              last: r.last.slice(0, 19).replace("T", " "),
            })),
          ) + "\n",
        );
      } catch (e) {
        reportError(toReflexiaError(e));
      }
    });
}
