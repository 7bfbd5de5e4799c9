// Background benchmark runs over the API: POST /api/benchmarks starts one (one at a time), GET
// /api/benchmarks/current follows it, POST /api/benchmarks/:id/cancel stops it, and GET /api/benchmarks lists
// the stored runs with their JSON (GET /api/benchmarks/:id for one).
import type { FastifyInstance } from "fastify";
import { BENCHMARK_PARAMS, type BenchmarkHistoryReader, type BenchmarkJobs, type BenchmarkRequest } from "../../services/benchmark-jobs.ts";
import { assertKnownFields } from "../known-fields.ts";
import { modelRefSchema } from "../schemas/common.ts";

const intList = { type: "array", minItems: 1, maxItems: 16, items: { type: "integer" } } as const;

const startBodySchema = {
  type: "object",
  required: ["kind"],
  properties: {
    kind: { type: "string", minLength: 1, maxLength: 32 },
    models: { type: "array", minItems: 1, maxItems: 16, items: modelRefSchema },
    tokens: { type: "integer" },
    repetitions: { type: "integer" },
    concurrency: intList,
    sizes: intList,
  },
} as const;

const listQuerySchema = {
  type: "object",
  // The app does not coerce types: numbers in the query string arrive as text.
  properties: { limit: { type: "string", pattern: "^[0-9]{1,3}$" } },
} as const;

const idParamsSchema = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1, maxLength: 128 } } } as const;

export interface BenchmarkRoutesOptions {
  jobs: BenchmarkJobs;
  history: BenchmarkHistoryReader;
}

export function registerBenchmarkRoutes(app: FastifyInstance, { jobs, history }: BenchmarkRoutesOptions): void {
  app.get("/api/benchmarks", { schema: { querystring: listQuerySchema } }, async (request) => {
    const query = request.query as { limit?: string };
    assertKnownFields(query, ["limit"], "query");
    const limit = Math.min(200, Math.max(1, Number(query.limit ?? 20)));
    const summaries = await history.list();
    const runs = [];
    for (const s of summaries.slice(0, limit)) {
      // A run deleted between list and get is simply left out.
      runs.push(await history.get(s.id).catch(() => null));
    }
    return { kinds: jobs.kinds(), current: jobs.current(), total: summaries.length, runs: runs.filter((r) => r !== null) };
  });

  app.get("/api/benchmarks/current", async () => ({ job: jobs.current() }));

  app.get("/api/benchmarks/:id", { schema: { params: idParamsSchema } }, async (request) => history.get((request.params as { id: string }).id));

  app.post("/api/benchmarks", { schema: { body: startBodySchema } }, async (request, reply) => {
    const body = request.body as BenchmarkRequest;
    assertKnownFields(body, ["kind", ...BENCHMARK_PARAMS]);
    const job = await jobs.start(body);
    return reply.status(202).send({ job });
  });

  app.post("/api/benchmarks/:id/cancel", { schema: { params: idParamsSchema } }, async (request) => ({ job: jobs.cancel((request.params as { id: string }).id) }));
}
