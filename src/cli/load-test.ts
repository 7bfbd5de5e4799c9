// `reflexia load-test`: closed-loop load against a running Reflexia server on this machine (src/bench/load-test.ts),
// printing a summary and a per-second timeline, or JSON.
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { LOAD_TEST_LIMITS, runLoadTest, type LoadTestResult } from "../bench/load-test.ts";
import type { CliContextFactory } from "./context.ts";
import { checkOutputPath, printJson, table } from "./output.ts";
import { parseIntOption, parseNumberOption } from "./parse-options.ts";

interface LoadTestCliOptions {
  url?: string;
  model?: string;
  workers: number;
  duration: number;
  rampUp: number;
  maxTokens: number;
  maxRequests: number;
  stream: boolean;
  apiKey?: string;
  json?: boolean;
  output?: string;
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "-");

function printSummary(r: LoadTestResult): void {
  const lines = [
    `target      ${r.url}  model ${r.model}  (${
      Object.entries(r.variants)
        .map(([v, n]) => `${v} ×${n}`)
        .join(", ") || "no answer"
    })`,
    `load        ${r.workers} workers, ${r.rampUpS} s ramp-up, ${r.durationS} s, ${r.maxTokens} tokens per request${r.stream ? ", streamed" : ""}`,
    `requests    ${r.requests} (${r.succeeded} ok, ${r.failed} failed${
      r.failed
        ? `: ${Object.entries(r.errors)
            .map(([c, n]) => `${c} ×${n}`)
            .join(", ")}`
        : ""
    }) in ${(r.wallMs / 1000).toFixed(1)} s`,
    // Why requests failed: the first message of each code.
    ...Object.entries(r.errorMessages).map(([c, m]) => `  ${c}: ${m}`),
    `throughput  ${r.requestsPerSecond.toFixed(2)} req/s, ${r.tokensPerSecond.toFixed(1)} generated tok/s`,
    r.succeeded === 0
      ? "latency     no successful request"
      : `latency ms  p50 ${ms(r.latencyMs.p50)}  p95 ${ms(r.latencyMs.p95)}  p99 ${ms(r.latencyMs.p99)}  max ${ms(r.latencyMs.max)}`,
  ];
  if (r.ttftMs && r.succeeded > 0)
    lines.push(
      `TTFT ms     p50 ${ms(r.ttftMs.p50)}  p95 ${ms(r.ttftMs.p95)}  p99 ${ms(r.ttftMs.p99)}  max ${ms(r.ttftMs.max)}`,
    );
  process.stdout.write(lines.join("\n") + "\n\n");
  const rows = r.timeline.map((s) => ({
    second: s.second,
    workers: s.workers,
    completed: s.completed,
    errors: s.errors,
    tokens: s.completionTokens,
  }));
  process.stdout.write(table(rows, ["second", "workers", "completed", "errors", "tokens"]) + "\n");
}

export function registerLoadTestCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("load-test")
    .description(
      "load a running server on this machine with closed-loop workers; throughput, latency, TTFT, errors per second",
    )
    .option("--url <url>", "server base URL, loopback only (default: http://127.0.0.1:<server.port>)")
    .option(
      "-m, --model <ref>",
      "model to request; a bare name lets adaptive quantization choose (default: the server's default model)",
    )
    .option("--workers <n>", "concurrent workers", parseIntOption("--workers", 1, 256), 4)
    .option("--duration <s>", "seconds during which requests start", parseIntOption("--duration", 1, 3600), 30)
    .option(
      "--ramp-up <s>",
      "seconds over which the workers start, evenly spaced",
      parseNumberOption("--ramp-up", 0, 3600),
      0,
    )
    .option(
      "--max-tokens <n>",
      "tokens generated per request, at most the server's limits.max_tokens",
      parseIntOption("--max-tokens", ...LOAD_TEST_LIMITS.maxTokens),
      32,
    )
    .option(
      "--max-requests <n>",
      "requests at most over the run",
      parseIntOption("--max-requests", 1, 1_000_000),
      100_000,
    )
    .option("--no-stream", "non-streamed requests (no time to first token)")
    .option("--api-key <key>", "Bearer key for a server with ENABLE_AUTH (default: auth.api_key)")
    .option("--json", "print the result as JSON")
    .option("--output <file>", "also write the JSON result to this file")
    .action(async (opts: LoadTestCliOptions) => {
      if (opts.output !== undefined) checkOutputPath("--output", opts.output);
      const ctx = await getContext();
      const config = ctx.loaded.config;
      const result = await runLoadTest({
        url: opts.url ?? `http://127.0.0.1:${config.server.port}`,
        model: opts.model,
        workers: opts.workers,
        durationS: opts.duration,
        rampUpS: opts.rampUp,
        maxTokens: opts.maxTokens,
        maxRequests: opts.maxRequests,
        stream: opts.stream,
        apiKey: opts.apiKey ?? (config.auth.api_key || undefined),
        log: opts.json ? undefined : (l) => process.stderr.write(l + "\n"),
      });
      if (opts.output) writeFileSync(opts.output, JSON.stringify(result, null, 2) + "\n");
      if (opts.json) printJson(result);
      else printSummary(result);
      if (result.succeeded === 0) {
        process.stderr.write(`error: none of the ${result.requests} requests succeeded\n`);
        process.exitCode = 1;
      }
    });
}
