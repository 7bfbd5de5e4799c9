// Benchmark runs started over the API: one at a time, in the background, cancellable, with progress and log
// lines; a finished run is stored in the benchmark history. The kinds themselves (what a run measures) are
// injected by the composition root from src/bench, which sits above this layer.
import { randomBytes } from "node:crypto";
import { ReflexiaError, isReflexiaError } from "../errors/index.ts";

/** A parameter a kind reads from the request (the UI shows a field for each). */
export const BENCHMARK_PARAMS = ["models", "tokens", "repetitions", "concurrency", "sizes"] as const;
export type BenchmarkParam = (typeof BENCHMARK_PARAMS)[number];

export interface BenchmarkRequest {
  kind: string;
  /** `name:tag` variants to measure (kinds that run models). */
  models?: string[];
  tokens?: number;
  repetitions?: number;
  concurrency?: number[];
  sizes?: number[];
}

export interface BenchmarkContext {
  signal: AbortSignal;
  log(line: string): void;
  /** `completed` of `total` steps (variants, sizes…). */
  progress(completed: number, total: number): void;
}

/** What a kind hands back to be stored (the history's run input, less what the jobs add). */
export interface BenchmarkOutcome {
  result: Record<string, unknown>;
  args: string[];
  config: Record<string, unknown>;
  models: { ref: string; digest: string; quantization: string; sizeBytes: number }[];
  headline?: string;
}

export interface BenchmarkKind {
  description: string;
  /** The request fields this kind reads; any other field is refused by name. */
  params: readonly BenchmarkParam[];
  /** Validates the request before the run starts (RFX_VALIDATION / RFX_MODEL_NOT_FOUND as a 4xx). */
  check(request: BenchmarkRequest): Promise<void>;
  run(request: BenchmarkRequest, ctx: BenchmarkContext): Promise<BenchmarkOutcome>;
}

/** Where finished runs go: src/bench/history.ts's createBenchmarkHistory satisfies it. */
export interface BenchmarkStore {
  save(run: BenchmarkOutcome & { kind: string; durationMs?: number }): Promise<string>;
}

/** Reads stored runs back (the history's list/get); the stored JSON is returned as it is. */
export interface BenchmarkHistoryReader {
  /** Newest first. */
  list(): Promise<{ id: string }[]>;
  get(id: string): Promise<object>;
}

export const JOB_STATES = ["running", "cancelling", "succeeded", "failed", "cancelled"] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface BenchmarkJob {
  id: string;
  kind: string;
  request: BenchmarkRequest;
  status: JobState;
  started_at: string;
  finished_at: string | null;
  progress: { completed: number; total: number };
  /** The last log lines (bounded). */
  log: string[];
  /** Id of the stored run once it succeeded (GET /api/benchmarks/:id). */
  run_id: string | null;
  error: { code: string; message: string } | null;
}

export interface BenchmarkJobs {
  kinds(): { kind: string; description: string; params: readonly BenchmarkParam[] }[];
  /** Starts a run; RFX_BENCHMARK_RUNNING while another one is running. */
  start(request: BenchmarkRequest): Promise<BenchmarkJob>;
  /** The running job, else the last finished one, else null. */
  current(): BenchmarkJob | null;
  /** Cancels the running job with this id (or "current"); a finished job is returned as it is. */
  cancel(id: string): BenchmarkJob;
  /** Resolves when the running job (if any) has finished. */
  idle(): Promise<void>;
}

const MAX_LOG_LINES = 200;

export function createBenchmarkJobs(options: {
  kinds: Record<string, BenchmarkKind>;
  store: BenchmarkStore;
}): BenchmarkJobs {
  const { kinds, store } = options;
  let job: BenchmarkJob | null = null;
  let controller: AbortController | null = null;
  let running: Promise<void> = Promise.resolve();

  const snapshot = (j: BenchmarkJob): BenchmarkJob => ({ ...j, progress: { ...j.progress }, log: [...j.log] });

  return {
    kinds: () => Object.entries(kinds).map(([kind, k]) => ({ kind, description: k.description, params: k.params })),
    async start(request) {
      const kind = kinds[request.kind];
      if (!kind) {
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `kind ${JSON.stringify(request.kind)} cannot run in the server (one of: ${Object.keys(kinds).join(", ")}; the others run with \`reflexia benchmark\`)`,
        );
      }
      const extra = BENCHMARK_PARAMS.filter((p) => request[p] !== undefined && !kind.params.includes(p));
      if (extra.length > 0)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `${request.kind} does not take ${extra.join(", ")} (it takes: ${kind.params.join(", ") || "nothing"})`,
        );
      if (job && (job.status === "running" || job.status === "cancelling")) {
        throw new ReflexiaError(
          "RFX_BENCHMARK_RUNNING",
          `benchmark ${job.id} (${job.kind}) is still running; cancel it or wait for it to finish`,
          { id: job.id },
        );
      }
      await kind.check(request);
      const started = performance.now();
      const j: BenchmarkJob = {
        id: `job-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`,
        kind: request.kind,
        request,
        status: "running",
        started_at: new Date().toISOString(),
        finished_at: null,
        progress: { completed: 0, total: 1 },
        log: [],
        run_id: null,
        error: null,
      };
      job = j;
      const ac = new AbortController();
      controller = ac;
      const ctx: BenchmarkContext = {
        signal: ac.signal,
        log(line) {
          j.log.push(line);
          if (j.log.length > MAX_LOG_LINES) j.log.splice(0, j.log.length - MAX_LOG_LINES);
        },
        progress(completed, total) {
          j.progress = { completed, total };
        },
      };
      running = (async () => {
        try {
          const outcome = await kind.run(request, ctx);
          if (ac.signal.aborted) throw new ReflexiaError("RFX_CANCELLED", "the benchmark was cancelled");
          j.run_id = await store.save({
            ...outcome,
            kind: request.kind,
            durationMs: Math.round(performance.now() - started),
          });
          j.progress = { completed: j.progress.total, total: j.progress.total };
          j.status = "succeeded";
        } catch (e) {
          if (ac.signal.aborted) {
            j.status = "cancelled";
          } else {
            j.status = "failed";
            j.error = isReflexiaError(e)
              ? { code: e.code, message: e.message }
              : { code: "RFX_INTERNAL", message: e instanceof Error ? e.message : String(e) };
          }
        } finally {
          j.finished_at = new Date().toISOString();
          if (controller === ac) controller = null;
        }
      })();
      return snapshot(j);
    },
    current: () => (job ? snapshot(job) : null),
    cancel(id) {
      if (!job || (id !== "current" && id !== job.id))
        throw new ReflexiaError(
          "RFX_NOT_FOUND",
          `no benchmark job ${id} (only the current or last job can be cancelled)`,
          { id },
        );
      if (job.status === "running") {
        job.status = "cancelling";
        controller?.abort();
      }
      return snapshot(job);
    },
    idle: () => running,
  };
}
