// `reflexia serve`: the API + web UI on server.port and Prometheus metrics on server.metrics_port.
import type { Command } from "commander";
import { CONFIG_DEFAULTS } from "../config/index.ts";
import type { CliContextFactory } from "./context.ts";
import { parseIntOption } from "./parse-options.ts";

export function registerServeCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("serve")
    .description(
      `serve the OpenAI- and Ollama-compatible API and web UI (:${CONFIG_DEFAULTS.server.port}) and /metrics (:${CONFIG_DEFAULTS.server.metrics_port})`,
    )
    .option("-p, --port <n>", "API port (overrides PORT)", parseIntOption("--port", 0, 65535))
    .option("--metrics-port <n>", "metrics port (overrides METRICS_PORT)", parseIntOption("--metrics-port", 0, 65535))
    .option("--host <addr>", "listen address (overrides HOST)")
    .action(async (opts: { port?: number; metricsPort?: number; host?: string }) => {
      const ctx = await getContext();
      await ctx.ensureDefaultModel();
      const { startServer } = await import("../main.ts");
      const server = await startServer({
        loaded: ctx.loaded,
        overrides: { port: opts.port, metricsPort: opts.metricsPort, host: opts.host },
        installSignalHandlers: true,
      });
      process.stderr.write(`reflexia listening on ${server.url} · metrics on ${server.metricsUrl}/metrics\n`);
      await server.closed;
    });
}
