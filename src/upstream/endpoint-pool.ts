// The endpoints of one remote variant: least-outstanding-requests routing under a per-endpoint cap, passive
// ejection with exponential backoff on failures, and active health checks that restore an endpoint.
import { ReflexiaError } from "../errors/index.ts";
import type { EndpointHealth, UpstreamErrorKind, UpstreamLabels, UpstreamMetricsSink } from "./types.ts";

export interface EndpointPoolOptions {
  /** Base URLs, already normalised (see normalizeBaseUrl). */
  endpoints: readonly string[];
  maxConcurrent: number;
  /** Sent as `Authorization: Bearer` on health checks. */
  apiKey?: string;
  healthIntervalMs: number;
  /** First ejection; doubles per consecutive failure up to 60×. */
  ejectBaseMs: number;
  /** Model and quantization labels of the metrics; the endpoint label is added per endpoint. */
  labels: Omit<UpstreamLabels, "endpoint">;
  metrics?: UpstreamMetricsSink;
  /** Clock in ms. Defaults to Date.now. */
  now?: () => number;
}

export interface EndpointLease {
  readonly url: string;
  readonly labels: UpstreamLabels;
  /** Ends the attempt: a success restores the endpoint; an ejecting failure removes it from rotation for a while. */
  release(outcome: "ok" | UpstreamErrorKind, detail?: string): void;
}

export interface EndpointPool {
  /**
   * The healthy endpoint with the fewest requests in flight (not in `exclude`), waiting while all are at their
   * cap. Throws RFX_UPSTREAM_UNAVAILABLE (with retryAfterSeconds) when none is healthy or left to try.
   */
  acquire(exclude: ReadonlySet<string>, signal?: AbortSignal): Promise<EndpointLease>;
  status(): EndpointHealth[];
  /** Runs one round of health checks now (also what the interval timer does). */
  checkNow(): Promise<void>;
  /** Stops the health checks and wakes every waiter with RFX_UPSTREAM_UNAVAILABLE. */
  close(): void;
  /**
   * Stops the health checks only (the variant was deleted or replaced): a model still holding the pool finishes
   * what it runs, with passive ejection alone.
   */
  retire(): void;
}

/** Kinds that say the endpoint itself is in trouble (a 4xx or a client abort says nothing about it). */
const EJECTING: ReadonlySet<string> = new Set(["connect", "timeout", "http_5xx", "stream"]);
const MAX_BACKOFF_FACTOR = 60;
const HEALTH_TIMEOUT_MS = 2000;

/** `http://h:8080` → `http://h:8080/v1`; a trailing slash goes; a given path (`/v1`, `/openai/v1`) is kept. */
export function normalizeBaseUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new ReflexiaError("RFX_VALIDATION", `remote endpoint ${url}: only http and https URLs are supported`);
  let path = u.pathname.replace(/\/+$/, "");
  if (path === "") path = "/v1";
  return `${u.protocol}//${u.username ? `${u.username}:${u.password}@` : ""}${u.host}${path}`;
}

/** The URL as metrics and /api/status show it: no user or password. */
export function endpointLabel(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

interface EndpointState {
  url: string;
  labels: UpstreamLabels;
  inFlight: number;
  healthy: boolean;
  failures: number;
  ejectedUntil: number;
  lastError: string | null;
  lastCheckAt: number | null;
}

export function createEndpointPool(options: EndpointPoolOptions): EndpointPool {
  const now = options.now ?? Date.now;
  const { maxConcurrent, metrics } = options;
  const eps: EndpointState[] = options.endpoints.map((url) => ({
    url,
    labels: { ...options.labels, endpoint: endpointLabel(url) },
    inFlight: 0,
    healthy: true,
    failures: 0,
    ejectedUntil: 0,
    lastError: null,
    lastCheckAt: null,
  }));
  for (const e of eps) metrics?.setHealthy(e.labels, true);
  let waiters: (() => void)[] = [];
  let closed = false;
  let rotation = 0;
  const wake = (): void => {
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };

  const markHealthy = (e: EndpointState): void => {
    if (!e.healthy) metrics?.setHealthy(e.labels, true);
    e.healthy = true;
    e.failures = 0;
    e.ejectedUntil = 0;
    wake();
  };
  const eject = (e: EndpointState, detail: string): void => {
    e.failures++;
    e.healthy = false;
    e.lastError = detail;
    e.ejectedUntil = now() + options.ejectBaseMs * Math.min(MAX_BACKOFF_FACTOR, 2 ** (e.failures - 1));
    metrics?.setHealthy(e.labels, false);
    // Waiters for a slot may now have no endpoint at all: let them re-decide (and fail fast).
    wake();
  };
  // An ejected endpoint whose backoff ran out gets one trial request (half-open), as a health check would.
  const usable = (e: EndpointState): boolean => e.healthy || now() >= e.ejectedUntil;

  const unavailable = (exclude: ReadonlySet<string>): ReflexiaError => {
    const pending = eps.filter((e) => !exclude.has(e.url) && !usable(e));
    const soonest = pending.length ? Math.min(...pending.map((e) => e.ejectedUntil)) - now() : options.ejectBaseMs;
    const retryAfterSeconds = Math.min(60, Math.max(1, Math.ceil(soonest / 1000)));
    const errors = eps.map((e) => `${e.labels.endpoint}: ${e.lastError ?? (exclude.has(e.url) ? "failed" : "ok")}`);
    return new ReflexiaError(
      "RFX_UPSTREAM_UNAVAILABLE",
      `no healthy endpoint of ${options.labels.model} is left to try (${errors.join("; ")}); retry in ${retryAfterSeconds} s`,
      { retryAfterSeconds, endpoints: eps.map((e) => e.labels.endpoint) },
    );
  };

  const lease = (e: EndpointState): EndpointLease => {
    e.inFlight++;
    metrics?.setInFlight(e.labels, e.inFlight);
    let done = false;
    return {
      url: e.url,
      labels: e.labels,
      release(outcome, detail) {
        if (done) return;
        done = true;
        e.inFlight--;
        metrics?.setInFlight(e.labels, e.inFlight);
        if (outcome === "ok") markHealthy(e);
        else if (EJECTING.has(outcome)) eject(e, `${outcome}${detail ? `: ${detail}` : ""}`);
        wake();
      },
    };
  };

  const acquire = async (exclude: ReadonlySet<string>, signal?: AbortSignal): Promise<EndpointLease> => {
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new ReflexiaError("RFX_CANCELLED", "the request was cancelled");
      if (closed) throw unavailable(new Set(eps.map((e) => e.url)));
      const candidates = eps.filter((e) => !exclude.has(e.url) && usable(e));
      if (candidates.length === 0) throw unavailable(exclude);
      // Fewest in flight wins; ties rotate, so light sequential traffic still spreads over the endpoints.
      let best: EndpointState | undefined;
      const start = rotation++ % candidates.length;
      for (let i = 0; i < candidates.length; i++) {
        const e = candidates[(start + i) % candidates.length];
        if (e.inFlight < maxConcurrent && (!best || e.inFlight < best.inFlight)) best = e;
      }
      if (best) return lease(best);
      // Every usable endpoint is at its cap: wait for a release (or a health change), then choose again.
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal?.reason ?? new ReflexiaError("RFX_CANCELLED", "cancelled"));
        waiters.push(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        });
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
  };

  const checkOne = async (e: EndpointState): Promise<void> => {
    // A healthy endpoint is checked each round; an ejected one only once its backoff ran out.
    if (!e.healthy && now() < e.ejectedUntil) return;
    e.lastCheckAt = now();
    try {
      const res = await fetch(`${e.url}/models`, {
        headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
        signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
      });
      await res.body?.cancel().catch(() => {});
      if (res.status >= 500) eject(e, `health check: HTTP ${res.status}`);
      else markHealthy(e);
    } catch (err) {
      eject(e, `health check: ${(err as Error).name === "TimeoutError" ? "timeout" : "connection failed"}`);
    }
  };
  const checkNow = async (): Promise<void> => {
    await Promise.all(eps.map(checkOne));
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void checkNow().finally(() => (running = false));
  }, options.healthIntervalMs);
  timer.unref();

  return {
    acquire,
    checkNow,
    status: () =>
      eps.map((e) => ({
        endpoint: e.labels.endpoint,
        healthy: e.healthy,
        inFlight: e.inFlight,
        maxConcurrent,
        consecutiveFailures: e.failures,
        ejectedUntil: e.healthy ? null : new Date(e.ejectedUntil).toISOString(),
        lastError: e.lastError,
        lastCheckAt: e.lastCheckAt === null ? null : new Date(e.lastCheckAt).toISOString(),
      })),
    close() {
      closed = true;
      clearInterval(timer);
      wake();
    },
    retire: () => clearInterval(timer),
  };
}
