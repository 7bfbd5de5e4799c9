// Background benchmark runs over the API: POST /api/benchmarks starts one (one at a time), GET
// /api/benchmarks/current follows it, POST /api/benchmarks/:id/cancel stops it, and GET /api/benchmarks lists
// the stored runs with their JSON (GET /api/benchmarks/:id for one).
import { RUNS_MODEL } from "../usage-accounting.ts";
import { Type } from "typebox";
import { type BenchmarkHistoryReader, type BenchmarkJobs } from "../../services/benchmark-jobs.ts";
import { modelRefSchema } from "../schemas/common.ts";
import type { RouteApp } from "../types.ts";

const intList = Type.Array(Type.Integer(), { minItems: 1, maxItems: 16 });

const startBodySchema = Type.Object({
  kind: Type.String({ minLength: 1, maxLength: 32 }),
  models: Type.Optional(Type.Array(modelRefSchema, { minItems: 1, maxItems: 16 })),
  tokens: Type.Optional(Type.Integer()),
  repetitions: Type.Optional(Type.Integer()),
  concurrency: Type.Optional(intList),
  sizes: Type.Optional(intList),
});

// The app does not coerce types: numbers in the query string arrive as text.
const listQuerySchema = Type.Object({ limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,3}$" })) });

const idParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export interface BenchmarkRoutesOptions {
  jobs: BenchmarkJobs;
  history: BenchmarkHistoryReader;
}

export function registerBenchmarkRoutes(app: RouteApp, { jobs, history }: BenchmarkRoutesOptions): void {
  app.get("/api/benchmarks", { schema: { querystring: listQuerySchema } }, async (request) => {
    const query = request.query;
    const limit = Math.min(200, Math.max(1, Number(query.limit ?? 20)));
    const summaries = await history.list();
    const runs = [];
    for (const s of summaries.slice(0, limit)) {
      // A run deleted between list and get is simply left out.
      runs.push(await history.get(s.id).catch(() => null));
    }
    return {
      kinds: jobs.kinds(),
      current: jobs.current(),
      total: summaries.length,
      runs: runs.filter((r) => r !== null),
    };
  });

  app.get("/api/benchmarks/current", async () => ({ job: jobs.current() }));

  app.get("/api/benchmarks/:id", { schema: { params: idParamsSchema } }, async (request) =>
    history.get(request.params.id),
  );

  app.post("/api/benchmarks", { schema: { body: startBodySchema }, config: RUNS_MODEL }, async (request, reply) => {
    const body = request.body;
    const job = await jobs.start(body);
    return reply.status(202).send({ job });
  });

  app.post("/api/benchmarks/:id/cancel", { schema: { params: idParamsSchema } }, async (request) => ({
    job: jobs.cancel(request.params.id),
  }));
}
