// The models view's API: every variant with size, memory estimate and load state; one variant's details; and
// creating a variant by quantizing, streamed as NDJSON progress lines.
import { PassThrough } from "node:stream";
import { Type } from "typebox";
import { normalizeQuantization, QUANTIZATIONS } from "../../config/index.ts";
import { ReflexiaError } from "../../errors/index.ts";
import { parseModelRef, publicRemoteSpec } from "../../registry/index.ts";
import {
  createModelOverview,
  type ModelOverview,
  type VariantDetails,
  type VariantOverview,
} from "../../services/model-overview.ts";
import { errorBody, toHttpError } from "../error-handler.ts";
import { endStreamOnShutdown } from "../shutdown-signal.ts";
import { modelRefSchema, wildcardParamsSchema } from "../schemas/common.ts";
import type { AppDeps, RouteApp } from "../types.ts";

const quantizeBodySchema = Type.Object({
  /** Model (or variant) the new variant is made from. */
  from: modelRefSchema,
  quantize: Type.String({ minLength: 1, maxLength: 32 }),
  /** New reference; defaults to the source's name, so the variant joins that model. */
  model: Type.Optional(modelRefSchema),
  /** NDJSON progress lines (default) or one JSON answer at the end. */
  stream: Type.Optional(Type.Boolean()),
});

function variantBody(name: string, v: VariantOverview) {
  const m = v.manifest;
  return {
    name: `${name}:${m.tag}`,
    tag: m.tag,
    // `models list` through the server prints this: a remote variant must not read as local.
    kind: m.kind ?? ("local" as const),
    quantization: m.quantization,
    size_bytes: m.sizeBytes,
    digest: m.digest,
    architecture: m.architecture,
    parameter_count: m.parameterCount,
    context_length: m.contextLength,
    created_at: m.createdAt,
    source: m.source,
    estimated_memory_bytes: v.estimatedMemoryBytes,
    loaded: v.loaded,
    loading: v.loading,
    expires_at: v.expiresAt,
    running: v.running,
    queued: v.queued,
  };
}

/**
 * GET /api/models/NAME:TAG: one variant's file, architecture, context, chat template and hyperparameters; for a
 * remote variant (`kind: "remote"`) its endpoints instead, the file fields empty. `reflexia models show --json`
 * prints this object in either mode.
 */
export function modelDetailsBody({ details: d, chatTemplate }: VariantDetails) {
  const g = d.gguf;
  return {
    name: `${d.name}:${d.tag}`,
    kind: d.remote ? ("remote" as const) : ("local" as const),
    /** The upstream servers (URLs without credentials, the key's source but never the key); null for a file. */
    remote: d.remote ? publicRemoteSpec(d.remote) : null,
    quantization: d.quantization,
    size_bytes: d.sizeBytes,
    digest: d.manifest.digest,
    source: d.manifest.source,
    created_at: d.manifest.createdAt,
    variants: d.variants,
    architecture: g.architecture,
    parameter_count: g.parameterCount,
    file_type: g.fileType,
    gguf_version: g.version,
    tensor_count: g.tensorCount,
    context: { trained: g.contextLength, configured: d.contextSize },
    parameters: {
      embedding_length: g.embeddingLength ?? null,
      block_count: g.blockCount ?? null,
      head_count: g.headCount ?? null,
      head_count_kv: g.headCountKv ?? null,
      feed_forward_length: g.feedForwardLength ?? null,
      vocab_size: g.vocabSize ?? null,
    },
    template: chatTemplate,
    estimated_memory: {
      weights_bytes: d.estimatedMemory.weightsBytes,
      repack_bytes: d.estimatedMemory.repackBytes,
      kv_cache_bytes: d.estimatedMemory.kvCacheBytes,
      compute_bytes: d.estimatedMemory.computeBytes,
      total_bytes: d.estimatedMemory.totalBytes,
    },
  };
}

export type ModelDetailsBody = ReturnType<typeof modelDetailsBody>;

/** GET /api/models: every model with its variants, and the quantizations a new variant may have. */
export function modelsBody(list: ModelOverview[]) {
  return {
    models: list.map((m) => ({
      name: m.name,
      total_bytes: m.totalBytes,
      variants: m.variants.map((v) => variantBody(m.name, v)),
    })),
    quantizations: QUANTIZATIONS,
  };
}

export type ModelsBody = ReturnType<typeof modelsBody>;

export function registerModelRoutes(app: RouteApp, deps: AppDeps): void {
  const overview = createModelOverview({ models: deps.models, scheduler: deps.scheduler });

  app.get("/api/models", async () => modelsBody(await overview.list()));

  app.get("/api/models/*", { schema: { params: wildcardParamsSchema } }, async (request) =>
    modelDetailsBody(await overview.details(request.params["*"])),
  );

  app.post("/api/models/quantize", { schema: { body: quantizeBodySchema } }, async (request, reply) => {
    const body = request.body;
    // Everything that can be refused is refused before the stream opens, so it gets its 4xx status.
    const quantize = normalizeQuantization(body.quantize);
    const from = parseModelRef(body.from);
    await deps.models.show(body.from);
    const target = body.model ? parseModelRef(body.model) : { name: from.name, tag: undefined };
    const model = `${target.name}:${target.tag ?? quantize}`;
    if (
      (await deps.models.list()).some(
        (m) => m.name === target.name && m.variants.some((v) => v.tag === (target.tag ?? quantize)),
      )
    ) {
      throw new ReflexiaError("RFX_MODEL_EXISTS", `${model} already exists; delete it first or choose another name`, {
        model,
      });
    }
    const createRequest = { model, from: body.from, quantize };
    // What the create itself refuses without quantizing (a destination tag that names another quantization…).
    await deps.models.checkCreate(createRequest);
    const create = (onStatus?: (status: string, progress?: { completed: number; total: number }) => void) =>
      deps.models.create(createRequest, onStatus);
    if (body.stream === false) {
      const manifests = await create();
      return { status: "success", model, quantization: quantize, size_bytes: manifests[0]?.sizeBytes ?? null };
    }
    const stream = new PassThrough();
    stream.on("error", () => {});
    const line = (o: unknown): void => {
      if (!stream.destroyed && !stream.writableEnded) stream.write(`${JSON.stringify(o)}\n`);
    };
    reply
      .status(200)
      .headers({ "content-type": "application/x-ndjson", "cache-control": "no-cache", "x-accel-buffering": "no" })
      .send(stream);
    endStreamOnShutdown(request.server, stream, (e) => `${JSON.stringify({ ...errorBody(e), done: true })}\n`);
    // Progress arrives per tensor; a line per percent is plenty for a progress bar.
    let lastPercent = -1;
    create((status, p) => {
      const percent = p ? Math.floor((p.completed / Math.max(1e-9, p.total)) * 100) : -1;
      if (p && percent === lastPercent) return;
      lastPercent = percent;
      line(p ? { status, completed: Math.round(p.completed * 1000) / 1000, total: p.total } : { status });
    }).then(
      (manifests) => {
        line({ status: "success", model, quantization: quantize, size_bytes: manifests[0]?.sizeBytes ?? null });
        stream.end();
      },
      (e: unknown) => {
        line(errorBody(toHttpError(e)));
        stream.end();
      },
    );
    return reply;
  });
}
