// The benchmark history: every benchmark run, one JSON file under `<home>/benchmarks/<id>.json`, holding where it
// ran (system info), on which bytes (model digests), how (config, args) and what it measured (the result).
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ReflexiaError } from "../errors/index.ts";
import { writeFileAtomic } from "../registry/atomic-fs.ts";
import { collectSystemInfo, type BenchmarkSystemInfo } from "./system-info.ts";

export type { BenchmarkSystemInfo } from "./system-info.ts";

/** Bumped when a stored field changes meaning; readers refuse versions they do not know. */
export const BENCHMARK_RUN_VERSION = 1;

/** One model variant a run measured: the digest says whether two runs measured the same bytes. */
export interface BenchmarkModelRef {
  /** `name:tag`. */
  ref: string;
  /** `sha256:<hex>` of the GGUF blob. */
  digest: string;
  quantization: string;
  sizeBytes: number;
}

/** What a caller hands to save(); id, time and (by default) system info are added. */
export interface BenchmarkRunInput {
  /** The benchmark kind (`inference`, `memory`, `throughput`, `rag`, `quality`, `suite`, …). */
  kind: string;
  /** The command-line arguments (or API request fields) that started the run, as given. */
  args: string[];
  /** The settings the figures depend on: threads, context size, engine backend, tokens, … */
  config: Record<string, unknown>;
  models: BenchmarkModelRef[];
  /** The benchmark's result object, as `--json` prints it. */
  result: Record<string, unknown>;
  /** One line for listings ("q4_0 31.2 tok/s, f16 12.0 tok/s"). Defaults to none. */
  headline?: string;
  /** Wall time of the whole run in ms. */
  durationMs?: number;
  /** Defaults to collectSystemInfo() at save time. */
  system?: BenchmarkSystemInfo;
  /** ISO-8601; defaults to now. */
  createdAt?: string;
}

export interface BenchmarkRun extends BenchmarkRunInput {
  version: typeof BENCHMARK_RUN_VERSION;
  id: string;
  createdAt: string;
  system: BenchmarkSystemInfo;
}

/** A run without its result, for listings. */
export interface BenchmarkRunSummary {
  id: string;
  kind: string;
  createdAt: string;
  hostname: string;
  cpuModel: string;
  ggmlCpuVariant?: string;
  /** `name:tag` of each model measured. */
  models: string[];
  headline?: string;
  durationMs?: number;
}

export interface BenchmarkHistoryOptions {
  /** Reflexia home (config `home`); runs live in `<home>/benchmarks`. */
  home: string;
}

export interface BenchmarkHistory {
  /** `<home>/benchmarks`. */
  readonly dir: string;
  /** Stores the run and returns its id (sortable by time: `20261201T101530123Z-inference-3fa1c2`). */
  save(run: BenchmarkRunInput): Promise<string>;
  /** Every readable stored run, newest first; unreadable files are skipped. */
  list(): Promise<BenchmarkRunSummary[]>;
  /** The stored run; RFX_VALIDATION for an id that cannot name one, RFX_NOT_FOUND when none is stored under it. */
  get(id: string): Promise<BenchmarkRun>;
}

/** Ids are file names: no separators, no dot-dot, bounded, so a request can never name a file outside the dir. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function isBenchmarkRunId(id: string): boolean {
  return ID_PATTERN.test(id);
}

function makeId(createdAt: string, kind: string): string {
  const stamp = createdAt.replace(/[-:.]/g, "");
  const k =
    kind
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 32) || "run";
  return `${stamp}-${k}-${randomBytes(3).toString("hex")}`;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** Checks the shape of a stored (or user-supplied) run; RFX_VALIDATION names the first field that is wrong. */
export function parseBenchmarkRun(data: unknown, where = "benchmark run"): BenchmarkRun {
  const bad = (field: string) =>
    new ReflexiaError("RFX_VALIDATION", `${where} is not a Reflexia benchmark run: ${field}`);
  if (!isObject(data)) throw bad("not a JSON object");
  if (data.version !== BENCHMARK_RUN_VERSION)
    throw bad(`version ${JSON.stringify(data.version)} (this Reflexia reads ${BENCHMARK_RUN_VERSION})`);
  if (typeof data.id !== "string" || !isBenchmarkRunId(data.id)) throw bad("id missing or malformed");
  if (typeof data.kind !== "string") throw bad("kind missing");
  if (typeof data.createdAt !== "string" || Number.isNaN(Date.parse(data.createdAt)))
    throw bad("createdAt missing or not a date");
  if (!Array.isArray(data.args) || !data.args.every((a) => typeof a === "string"))
    throw bad("args must be a list of strings");
  if (!isObject(data.config)) throw bad("config missing");
  if (!isObject(data.result)) throw bad("result missing");
  if (!isObject(data.system) || typeof data.system.hostname !== "string" || typeof data.system.cpuModel !== "string")
    throw bad("system info missing");
  if (
    !Array.isArray(data.models) ||
    !data.models.every((m) => isObject(m) && typeof m.ref === "string" && typeof m.digest === "string")
  ) {
    throw bad("models must list {ref, digest, …}");
  }
  return data as unknown as BenchmarkRun;
}

function summarize(run: BenchmarkRun): BenchmarkRunSummary {
  const s: BenchmarkRunSummary = {
    id: run.id,
    kind: run.kind,
    createdAt: run.createdAt,
    hostname: run.system.hostname,
    cpuModel: run.system.cpuModel,
    models: run.models.map((m) => m.ref),
  };
  if (run.system.ggmlCpuVariant) s.ggmlCpuVariant = run.system.ggmlCpuVariant;
  if (run.headline) s.headline = run.headline;
  if (run.durationMs !== undefined) s.durationMs = run.durationMs;
  return s;
}

export function createBenchmarkHistory(options: BenchmarkHistoryOptions): BenchmarkHistory {
  const dir = join(options.home, "benchmarks");
  const file = (id: string) => join(dir, `${id}.json`);

  async function read(id: string): Promise<BenchmarkRun | undefined> {
    let text: string;
    try {
      text = await readFile(file(id), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    const run = parseBenchmarkRun(JSON.parse(text), `stored run ${id}`);
    if (run.id !== id) throw new ReflexiaError("RFX_VALIDATION", `stored run ${id} names itself ${run.id}`);
    return run;
  }

  return {
    dir,
    async save(input) {
      if (typeof input.kind !== "string" || input.kind.length === 0)
        throw new ReflexiaError("RFX_VALIDATION", "a benchmark run needs a kind");
      const createdAt = input.createdAt ?? new Date().toISOString();
      if (Number.isNaN(Date.parse(createdAt)))
        throw new ReflexiaError("RFX_VALIDATION", `createdAt ${JSON.stringify(createdAt)} is not a date`);
      const id = makeId(createdAt, input.kind);
      const run: BenchmarkRun = {
        ...input,
        version: BENCHMARK_RUN_VERSION,
        id,
        createdAt,
        system: input.system ?? collectSystemInfo(),
      };
      // Atomic: a listing running beside a save sees the whole run or none of it.
      await writeFileAtomic(file(id), JSON.stringify(run, null, 2) + "\n");
      return id;
    },
    async list() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw e;
      }
      const out: BenchmarkRunSummary[] = [];
      for (const name of names) {
        const id = name.slice(0, -".json".length);
        if (!name.endsWith(".json") || !isBenchmarkRunId(id)) continue;
        try {
          const run = await read(id);
          if (run) out.push(summarize(run));
        } catch {
          // A hand-edited or foreign file must not hide every other run.
        }
      }
      return out.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id.localeCompare(a.id));
    },
    async get(id) {
      if (typeof id !== "string" || !isBenchmarkRunId(id)) {
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `${JSON.stringify(id)} is not a benchmark run id (letters, digits, '-' and '_', up to 128)`,
        );
      }
      let run: BenchmarkRun | undefined;
      try {
        run = await read(id);
      } catch (e) {
        if (e instanceof SyntaxError) throw new ReflexiaError("RFX_VALIDATION", `stored run ${id} is not valid JSON`);
        throw e;
      }
      if (!run)
        throw new ReflexiaError(
          "RFX_NOT_FOUND",
          // No path: the API answers with this message, and a client has no business knowing the server's home.
          `no benchmark run ${id} (\`reflexia benchmark history\` lists them)`,
          { id },
        );
      return run;
    },
  };
}
