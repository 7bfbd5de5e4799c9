// Runs a real Prometheus for tests: generated config scraping given targets every second, storage in a temp dir,
// listening on a free loopback port; stop() always kills it and removes its files.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PrometheusProcessOptions {
  binary: string;
  /** host:port targets of the "reflexia" job. */
  targets: string[];
  scrapeIntervalSeconds?: number;
  /** The server's API key: the "reflexia" job sends it as Bearer from a credentials file, as prometheus.yml does. */
  bearerKey?: string;
  /** Also scrape the targets without a key, as job "reflexia-without-key" (its `up` shows whether that works). */
  unauthenticatedJob?: boolean;
}

export interface PrometheusProcess {
  url: string;
  /** Stderr/stdout tail, for failure messages. */
  log(): string;
  query(expr: string): Promise<PromQueryResult>;
  stop(): Promise<void>;
}

export interface PromQueryResult {
  status: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value?: [number, string] }[] };
  error?: string;
  errorType?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
// A crashed test run must not leave a Prometheus behind.
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

export async function startPrometheus(options: PrometheusProcessOptions): Promise<PrometheusProcess> {
  const dir = mkdtempSync(join(tmpdir(), "reflexia-prom-"));
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const targets = `      - targets: [${options.targets.map((t) => JSON.stringify(t)).join(", ")}]`;
  const keyFile = join(dir, "reflexia-api-key");
  if (options.bearerKey !== undefined) writeFileSync(keyFile, options.bearerKey, { mode: 0o600 });
  const config = [
    "global:",
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    "scrape_configs:",
    "  - job_name: reflexia",
    "    metrics_path: /metrics",
    ...(options.bearerKey !== undefined
      ? ["    authorization:", "      type: Bearer", `      credentials_file: ${JSON.stringify(keyFile)}`]
      : []),
    "    static_configs:",
    targets,
    ...(options.unauthenticatedJob
      ? ["  - job_name: reflexia-without-key", "    metrics_path: /metrics", "    static_configs:", targets]
      : []),
    "",
  ].join("\n");
  writeFileSync(join(dir, "prometheus.yml"), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    options.binary,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  live.add(child);
  let output = "";
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-8000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exited: number | null | undefined;
  const exitPromise = new Promise<void>((resolve) =>
    child.once("exit", (code) => {
      exited = code;
      live.delete(child);
      resolve();
    }),
  );

  const stop = async () => {
    if (exited === undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exitPromise;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited !== undefined) throw new Error(`prometheus exited with ${exited}:\n${output}`);
      try {
        const r = await fetch(`${url}/-/ready`);
        if (r.ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    url,
    log: () => output,
    async query(expr) {
      const r = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
      return (await r.json()) as PromQueryResult;
    },
    stop,
  };
}
