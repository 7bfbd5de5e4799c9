// Load test of a running Reflexia server: closed-loop workers started over a ramp-up, each sending generate
// requests back to back until the duration ends; reports throughput, latency, time to first token and errors.
// Only loopback servers are targets, and every run is bounded in time and in request count.
import { createReflexiaClient, type GenerateFinal } from "../client/index.ts";
import { isReflexiaError, ReflexiaError } from "../errors/index.ts";
import { linkAbort, pause } from "./abort-link.ts";
import { percentile } from "./bench-stats.ts";

export interface LoadTestOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8000. Must be a loopback address. */
  url: string;
  /** Model reference; a bare name lets the server's adaptive quantization choose. Defaults to the server's default model. */
  model?: string;
  /** Concurrent closed-loop workers (1–256). Defaults to 4. */
  workers?: number;
  /** Seconds from the first request until no new request starts (1–3600). Defaults to 30. */
  durationS?: number;
  /** Seconds over which the workers start, evenly spaced (0 = all at once; at most durationS). Defaults to 0. */
  rampUpS?: number;
  /** Tokens each request generates (num_predict). Defaults to 32. */
  maxTokens?: number;
  /** Requests at most over the whole run. Defaults to 100000. */
  maxRequests?: number;
  /** Streamed requests (NDJSON), which gives time to first token. Defaults to true. */
  stream?: boolean;
  /** Sent as a Bearer token when the server has ENABLE_AUTH. */
  apiKey?: string;
  /** Seconds a request still running at the end may take before it is aborted. Defaults to 30. */
  graceS?: number;
  /** Receives progress lines. Defaults to none. */
  log?: (line: string) => void;
}

export interface LoadTestSecond {
  /** Seconds since the start (this row covers [second, second + 1)). */
  second: number;
  /** Workers started by the end of this second. */
  workers: number;
  completed: number;
  errors: number;
  completionTokens: number;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface LoadTestResult {
  url: string;
  model: string;
  workers: number;
  durationS: number;
  rampUpS: number;
  maxTokens: number;
  stream: boolean;
  /** Wall time from the first request to the last answer, ms. */
  wallMs: number;
  requests: number;
  succeeded: number;
  failed: number;
  /** Failed requests by error code (RFX_QUEUE_FULL, RFX_RATE_LIMITED, …; NETWORK when no HTTP answer came, ABORTED when still running at the hard stop). */
  errors: Record<string, number>;
  /** The first message seen for each code in `errors`: why the requests failed. */
  errorMessages: Record<string, string>;
  requestsPerSecond: number;
  /** Generated tokens of successful requests / wall time. */
  tokensPerSecond: number;
  completionTokens: number;
  /** Whole-request latency of successful requests, ms. */
  latencyMs: LatencySummary;
  /** Time to the first streamed text, ms (stream only). */
  ttftMs: LatencySummary | null;
  /** The variants that served the requests (the reflexia field of each answer) and how often. */
  variants: Record<string, number>;
  timeline: LoadTestSecond[];
}

/** Bounds of a run; max tokens is then held to the server's own limit (its /api/status `limits.max_tokens`). */
export const LOAD_TEST_LIMITS = {
  workers: [1, 256],
  durationS: [1, 3600],
  maxTokens: [1, 1_000_000],
  maxRequests: [1, 1_000_000],
} as const;
const LIMITS = LOAD_TEST_LIMITS;

/** True for 127.0.0.0/8, ::1 and localhost: the only hosts a load test may target. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return !!m && m.slice(1).every((x) => Number(x) <= 255);
}

function checkInt(name: string, value: number, [lo, hi]: readonly [number, number]): void {
  if (!Number.isInteger(value) || value < lo || value > hi)
    throw new ReflexiaError("RFX_VALIDATION", `${name} must be an integer in [${lo}, ${hi}] (got ${value})`, {
      field: name,
    });
}

function summary(xs: number[]): LatencySummary {
  return {
    p50: percentile(xs, 50),
    p95: percentile(xs, 95),
    p99: percentile(xs, 99),
    max: xs.length ? Math.max(...xs) : 0,
  };
}

export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestResult> {
  const workers = options.workers ?? 4;
  const durationS = options.durationS ?? 30;
  const rampUpS = options.rampUpS ?? 0;
  const maxTokens = options.maxTokens ?? 32;
  const maxRequests = options.maxRequests ?? 100_000;
  const stream = options.stream ?? true;
  const graceS = options.graceS ?? 30;
  const log = options.log ?? (() => {});
  checkInt("workers", workers, LIMITS.workers);
  checkInt("duration", durationS, LIMITS.durationS);
  checkInt("max-tokens", maxTokens, LIMITS.maxTokens);
  checkInt("max-requests", maxRequests, LIMITS.maxRequests);
  if (!Number.isFinite(rampUpS) || rampUpS < 0 || rampUpS > durationS)
    throw new ReflexiaError("RFX_VALIDATION", `ramp-up must be a number of seconds in [0, duration] (got ${rampUpS})`, {
      field: "ramp-up",
    });
  if (!Number.isFinite(graceS) || graceS < 0)
    throw new ReflexiaError("RFX_VALIDATION", `grace must be >= 0 seconds (got ${graceS})`);
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ReflexiaError("RFX_VALIDATION", `not a URL: ${options.url}`, { field: "url" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new ReflexiaError("RFX_VALIDATION", `url must be http(s) (got ${url.protocol})`, { field: "url" });
  if (!isLoopbackHost(url.hostname))
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `load tests only target this machine (127.0.0.1, localhost, ::1), not ${url.hostname}`,
      { field: "url" },
    );
  // The routes (/api/status, /api/generate) hang off the server's root: a path (/v1) would name other URLs.
  if (url.pathname.replace(/\/+$/, "") !== "" || url.search || url.hash)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `url must be the server's base URL, without a path (got ${options.url}; try ${url.origin})`,
      { field: "url" },
    );

  const client = createReflexiaClient({ baseUrl: url.origin, apiKey: options.apiKey });
  // One look before any load: a server that is not there (or not Reflexia) fails the run at once, not 30 s later.
  const status = await client.status().catch((e: unknown) => {
    if (isReflexiaError(e) && e.code === "RFX_UNAUTHORIZED") throw e;
    throw new ReflexiaError(
      "RFX_NOT_READY",
      `no Reflexia server answers at ${url.origin}: ${e instanceof Error ? e.message : String(e)}`,
      { url: url.origin },
    );
  });
  const model = options.model ?? String(status.default_model);
  // Requests the server would refuse every time are refused here, in one sentence, before any load.
  const serverMax = (status.limits as { max_tokens?: unknown } | undefined)?.max_tokens;
  if (typeof serverMax === "number" && maxTokens > serverMax)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `max-tokens ${maxTokens} is over the server's limit of ${serverMax} (limits.max_tokens at ${url.origin}/api/status)`,
      { field: "max-tokens" },
    );
  if (options.model !== undefined) {
    const names = (await client.tags().catch(() => undefined))?.models.map((m) => m.name);
    const known = (n: string) => n === model || n.split(":")[0] === model || n === `${model}:latest`;
    if (names && !names.some(known))
      throw new ReflexiaError(
        "RFX_MODEL_NOT_FOUND",
        `the server at ${url.origin} has no model ${model} (it has ${names.join(", ") || "none"})`,
        { model },
      );
  }

  const latencies: number[] = [];
  const ttfts: number[] = [];
  const errors: Record<string, number> = {};
  const errorMessages: Record<string, string> = {};
  const variants: Record<string, number> = {};
  const timeline: LoadTestSecond[] = Array.from({ length: durationS + Math.ceil(graceS) + 1 }, (_, second) => ({
    second,
    workers: 0,
    completed: 0,
    errors: 0,
    completionTokens: 0,
  }));
  let started = 0;
  let succeeded = 0;
  let completionTokens = 0;
  let lastEnd = 0;
  const hardStop = new AbortController();
  const t0 = performance.now();
  const endAt = t0 + durationS * 1000;
  const rowAt = (t: number) => timeline[Math.min(timeline.length - 1, Math.floor((t - t0) / 1000))];
  const killer = setTimeout(() => hardStop.abort(), (durationS + graceS) * 1000);
  log(
    `load test: ${workers} workers over ${rampUpS} s ramp-up, ${durationS} s, ${maxTokens} tokens per request, model ${model}, ${url.origin}`,
  );

  const worker = async (w: number) => {
    await pause(workers > 1 ? (rampUpS * 1000 * w) / workers : 0, hardStop.signal);
    for (let r = rowAt(performance.now()).second; r < timeline.length; r++) timeline[r].workers += 1;
    for (let i = 0; performance.now() < endAt && started < maxRequests && !hardStop.signal.aborted; i++) {
      started += 1;
      const t = performance.now();
      let first = 0;
      // A distinct prompt and seed per request: identical requests would be answered by the response cache.
      const body = {
        model,
        prompt: `Load test worker ${w} request ${i}: tell me about the sea`,
        raw: true,
        options: { num_predict: maxTokens, seed: w * 100_003 + i },
      };
      // A child of the run's stop signal per request, released after it: the stop signal keeps at most one
      // listener per worker however many requests the run sends.
      const link = linkAbort(hardStop.signal);
      try {
        const final: GenerateFinal = stream
          ? await client.generateStream(body, { signal: link.signal, onText: (_text, at) => (first ||= at) })
          : await client.generate(body, link.signal);
        const end = performance.now();
        latencies.push(end - t);
        if (first) ttfts.push(first - t);
        succeeded += 1;
        completionTokens += final.eval_count;
        const v = final.reflexia?.variant ?? model;
        variants[v] = (variants[v] ?? 0) + 1;
        const row = rowAt(end);
        row.completed += 1;
        row.completionTokens += final.eval_count;
        lastEnd = Math.max(lastEnd, end);
      } catch (e) {
        const code = hardStop.signal.aborted ? "ABORTED" : isReflexiaError(e) ? e.code : "NETWORK";
        errors[code] = (errors[code] ?? 0) + 1;
        errorMessages[code] ??= e instanceof Error ? e.message : String(e);
        const end = performance.now();
        rowAt(end).errors += 1;
        lastEnd = Math.max(lastEnd, end);
        // A refused request (full queue, rate limit) is retried after a short back-off, as a real client would.
        if (!hardStop.signal.aborted) await pause(100, hardStop.signal);
      } finally {
        link.release();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  } finally {
    clearTimeout(killer);
  }
  const wallMs = Math.max(1, (lastEnd || performance.now()) - t0);
  const failed = started - succeeded;
  const lastRow = Math.max(0, Math.floor(wallMs / 1000));
  const result: LoadTestResult = {
    url: url.origin,
    model,
    workers,
    durationS,
    rampUpS,
    maxTokens,
    stream,
    wallMs,
    requests: started,
    succeeded,
    failed,
    errors,
    errorMessages,
    requestsPerSecond: (succeeded / wallMs) * 1000,
    tokensPerSecond: (completionTokens / wallMs) * 1000,
    completionTokens,
    latencyMs: summary(latencies),
    ttftMs: stream ? summary(ttfts) : null,
    variants,
    timeline: timeline.slice(0, lastRow + 1),
  };
  log(
    `${result.requests} requests (${failed} failed) in ${(wallMs / 1000).toFixed(1)} s: ${result.requestsPerSecond.toFixed(2)} req/s, ` +
      `${result.tokensPerSecond.toFixed(1)} tok/s; ` +
      (succeeded === 0
        ? "no successful request"
        : `latency p50 ${result.latencyMs.p50.toFixed(0)} ms p95 ${result.latencyMs.p95.toFixed(0)} ms` +
          (result.ttftMs
            ? `; TTFT p50 ${result.ttftMs.p50.toFixed(0)} ms p95 ${result.ttftMs.p95.toFixed(0)} ms`
            : "")),
  );
  return result;
}
