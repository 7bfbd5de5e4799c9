// The JSON bodies of the Reflexia endpoints the web UI and other clients read, typed from the very functions
// that build them on the server (one shape in one place; imports here are types only, erased from bundles).
import type { documentJson, ragQueryJson } from "../http/routes/documents.ts";
import type { ModelDetailsBody, ModelsBody } from "../http/routes/models.ts";
import type { RolesBody, StatusBody } from "../http/routes/reflexia.ts";
import type { BenchmarkJob, BenchmarkJobs } from "../services/benchmark-jobs.ts";
import type { ReflexiaMeta } from "../services/inference-service.ts";
import type { LiveMetricsSample, LiveMetricsSnapshot } from "../services/live-metrics.ts";
import type { RagAnswerInfo, RagSourceInfo } from "../services/rag/rag-augment.ts";

export type {
  ModelDetailsBody,
  ModelsBody,
  RolesBody,
  StatusBody,
  LiveMetricsSample,
  LiveMetricsSnapshot,
  RagAnswerInfo,
  RagSourceInfo,
};

export type ServerFeaturesBody = StatusBody["features"];
export type DocumentBody = ReturnType<typeof documentJson>;
/** POST /api/rag/query. */
export type RagQueryBody = ReturnType<typeof ragQueryJson>;
export type ModelVariantBody = ModelsBody["models"][number]["variants"][number];

/** GET /api/documents. */
export interface DocumentListBody {
  documents: DocumentBody[];
  total: number;
  offset: number;
  limit: number;
}

/** The `reflexia` field of a chat answer: which variant served it and why (plus sources for RAG answers). */
export type ReflexiaMetaJson = ReflexiaMeta;

/** One line of POST /api/models/quantize's NDJSON stream. */
export type QuantizeProgressLine =
  | { status: string; completed?: number; total?: number }
  | { status: "success"; model: string; quantization: string; size_bytes: number | null }
  | { error: { code: string; message: string } };

export type { BenchmarkJob };

/** GET /api/benchmarks: the kinds the server runs, the current (or last) job, and the stored runs' JSON. */
export interface BenchmarksBody {
  kinds: ReturnType<BenchmarkJobs["kinds"]>;
  current: BenchmarkJob | null;
  total: number;
  /** The stored runs as the history keeps them (src/bench/history.ts BenchmarkRun), newest first. */
  runs: object[];
}
