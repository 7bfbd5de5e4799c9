// Ollama-compatible routes: generate, chat, tags, show, ps, embed(dings), create, copy, delete, version.
import { PassThrough } from "node:stream";
import type { FastifyReply } from "fastify";
import type { Static } from "typebox";
import type { SamplingOptions } from "../../engine/types.ts";
import { ReflexiaError } from "../../errors/index.ts";
import {
  parseModelRef,
  publicRemoteSpec,
  remoteSpecFromFields,
  type ModelDetails,
  type ModelManifest,
} from "../../registry/index.ts";
import type { InferenceOutcome, InferenceRequest, ReflexiaMeta } from "../../services/inference-service.ts";
import { toHttpError } from "../error-handler.ts";
import { endStreamOnShutdown } from "../shutdown-signal.ts";
import { parseKeepAlive } from "../keep-alive.ts";
import { ragOptionOf } from "../../services/rag/rag-request.ts";
import {
  chatBodySchema,
  copyBodySchema,
  createBodySchema,
  embedBodySchema,
  generateBodySchema,
  legacyEmbeddingsBodySchema,
  modelNameBodySchema,
  remoteBodySchema,
  type OllamaOptions,
} from "../schemas/ollama.ts";
import { clientAbortSignal, reflexiaHeaders, streamInference } from "../streaming.ts";
import { assertKnownFields } from "../known-fields.ts";
import type { AppDeps, RouteApp } from "../types.ts";

const ns = (ms: number): number => Math.max(0, Math.round(ms * 1e6));

/** Ollama's parameter-size string: 3.2M, 206M, 6.7B. */
export function formatParameterSize(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1).replace(/\.0$/, "")}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1).replace(/\.0$/, "")}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1).replace(/\.0$/, "")}K`;
  return String(n);
}

function detailsOf(m: ModelManifest) {
  return {
    parent_model: "",
    format: m.format ?? "gguf",
    family: m.architecture,
    families: [m.architecture],
    parameter_size: formatParameterSize(m.parameterCount),
    quantization_level: m.quantization.toUpperCase(),
  };
}

const digestHex = (d: string): string => d.replace(/^sha256:/, "");

const REMOTE_FIELDS = Object.keys(remoteBodySchema.properties);

export function samplingOfOllama(options: OllamaOptions | undefined, contextSize: number): SamplingOptions {
  const o = options ?? {};
  let maxTokens: number | undefined;
  if (o.num_predict === undefined || o.num_predict === -1) maxTokens = undefined;
  else if (o.num_predict === -2) maxTokens = contextSize;
  else if (o.num_predict >= 1) maxTokens = o.num_predict;
  else
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `options.num_predict must be ≥ 1, -1 (default limit) or -2 (fill the context); got ${o.num_predict}`,
    );
  const stop = o.stop === null || o.stop === undefined ? undefined : Array.isArray(o.stop) ? o.stop : [o.stop];
  return {
    maxTokens,
    temperature: o.temperature,
    topP: o.top_p,
    topK: o.top_k,
    seed: o.seed,
    repeatPenalty: o.repeat_penalty,
    stop: stop?.filter((s) => s.length > 0),
  };
}

function finalFields(o: InferenceOutcome) {
  return {
    done: true,
    done_reason: o.finishReason === "length" ? "length" : "stop",
    total_duration: ns(o.totalMs),
    load_duration: ns(o.loadMs),
    prompt_eval_count: o.promptTokens,
    prompt_eval_duration: ns(o.timings.promptEvalMs),
    eval_count: o.completionTokens,
    eval_duration: ns(o.timings.evalMs),
    reflexia: o.meta,
  };
}

const line = (x: unknown): string => `${JSON.stringify(x)}\n`;

/** Ollama's `model`, or `name` as older clients send it; both, naming different models, is refused, not guessed. */
function modelOrName(body: { model?: string; name?: string }): string {
  if (body.model !== undefined && body.name !== undefined && body.model !== body.name) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `send "model" or its older name "name", not both with different values (${JSON.stringify(body.model)} vs ${JSON.stringify(body.name)})`,
    );
  }
  return (body.model ?? body.name) as string;
}
const createdAt = (): string => new Date().toISOString();

async function respond(
  reply: FastifyReply,
  stream: boolean,
  run: (hooks?: Parameters<AppDeps["inference"]["run"]>[1]) => Promise<InferenceOutcome>,
  piece: (text: string) => Record<string, unknown>,
  final: (o: InferenceOutcome) => Record<string, unknown>,
): Promise<unknown> {
  if (stream) {
    return streamInference<InferenceOutcome>(
      reply,
      {
        contentType: "application/x-ndjson",
        text: (t) => line({ ...piece(t), created_at: createdAt(), done: false }),
        done: (o) => line({ ...final(o), created_at: createdAt() }),
        error: (e) => line({ error: e.message, code: e.code, done: true }),
      },
      (hooks) => run(hooks),
    );
  }
  const o = await run();
  return reply.headers(reflexiaHeaders(o.meta)).send({ ...final(o), created_at: createdAt() });
}

export function registerOllamaRoutes(app: RouteApp, deps: AppDeps): void {
  const { inference, embeddings, models, scheduler, config } = deps;
  // num_predict -2 (fill the context) means a sequence's share of the context.
  const contextSize = Math.floor(config.models.context_size / scheduler.parallel);

  app.post("/api/generate", { schema: { body: generateBodySchema } }, async (request, reply) => {
    const body = request.body;
    const keepAliveSeconds = parseKeepAlive(body.keep_alive);
    // An empty prompt loads (or, with keep_alive 0, unloads) the model, as in Ollama.
    if (!body.prompt && !body.system) {
      const ref = body.model;
      if (keepAliveSeconds === 0) {
        const sel = await deps.models.show(ref);
        await scheduler.unload(`${sel.name}:${sel.tag}`);
        return { model: body.model, created_at: createdAt(), response: "", done: true, done_reason: "unload" };
      }
      const sel = await deps.models.show(ref);
      await scheduler.load(`${sel.name}:${sel.tag}`, { keepAliveSeconds });
      return { model: body.model, created_at: createdAt(), response: "", done: true, done_reason: "load" };
    }
    const sampling = samplingOfOllama(body.options, contextSize);
    const req: InferenceRequest = body.raw
      ? {
          kind: "completion",
          model: body.model,
          prompt: body.prompt ?? "",
          role: body.role,
          sampling,
          keepAliveSeconds,
        }
      : {
          kind: "chat",
          model: body.model,
          messages: [
            ...(body.system ? [{ role: "system" as const, content: body.system }] : []),
            { role: "user" as const, content: body.prompt ?? "" },
          ],
          role: body.role,
          sampling,
          keepAliveSeconds,
        };
    req.signal = clientAbortSignal(request, reply);
    req.rag = ragOptionOf(body);
    return respond(
      reply,
      body.stream !== false,
      (hooks) => inference.run(req, hooks),
      (t) => ({ model: body.model, response: t }),
      (o) => ({ model: body.model, response: body.stream !== false ? "" : o.text, ...finalFields(o) }),
    );
  });

  app.post("/api/chat", { schema: { body: chatBodySchema } }, async (request, reply) => {
    const body = request.body;
    const keepAliveSeconds = parseKeepAlive(body.keep_alive);
    const messages = (body.messages ?? []).map((m) => ({ role: m.role, content: m.content }));
    if (messages.length === 0) {
      const sel = await deps.models.show(body.model);
      if (keepAliveSeconds === 0) {
        await scheduler.unload(`${sel.name}:${sel.tag}`);
        return {
          model: body.model,
          created_at: createdAt(),
          message: { role: "assistant", content: "" },
          done: true,
          done_reason: "unload",
        };
      }
      await scheduler.load(`${sel.name}:${sel.tag}`, { keepAliveSeconds });
      return {
        model: body.model,
        created_at: createdAt(),
        message: { role: "assistant", content: "" },
        done: true,
        done_reason: "load",
      };
    }
    const req: InferenceRequest = {
      kind: "chat",
      model: body.model,
      messages,
      role: body.role,
      sampling: samplingOfOllama(body.options, contextSize),
      keepAliveSeconds,
      signal: clientAbortSignal(request, reply),
      rag: ragOptionOf(body),
    };
    const streamed = body.stream !== false;
    return respond(
      reply,
      streamed,
      (hooks) => inference.run(req, hooks),
      (t) => ({ model: body.model, message: { role: "assistant", content: t } }),
      (o) => ({
        model: body.model,
        message: { role: "assistant", content: streamed ? "" : o.text },
        ...finalFields(o),
      }),
    );
  });

  app.get("/api/tags", async () => {
    const listing = await models.list();
    return {
      models: listing.flatMap((m) =>
        m.variants.map((v) => ({
          name: `${m.name}:${v.tag}`,
          model: `${m.name}:${v.tag}`,
          modified_at: v.createdAt,
          size: v.sizeBytes,
          digest: digestHex(v.digest),
          details: detailsOf(v),
          kind: v.kind ?? "local",
        })),
      ),
    };
  });

  app.post("/api/show", { schema: { body: modelNameBodySchema } }, async (request) => {
    const body = request.body;
    const d: ModelDetails = await models.show(modelOrName(body));
    const g = d.gguf;
    const arch = g.architecture;
    const modelInfo: Record<string, unknown> = {
      "general.architecture": arch,
      "general.parameter_count": g.parameterCount,
      "general.file_type": g.fileType,
      [`${arch}.context_length`]: g.contextLength,
    };
    for (const [k, key] of [
      ["embeddingLength", "embedding_length"],
      ["blockCount", "block_count"],
      ["headCount", "attention.head_count"],
      ["headCountKv", "attention.head_count_kv"],
      ["feedForwardLength", "feed_forward_length"],
      ["vocabSize", "vocab_size"],
    ] as const) {
      if (g[k] !== undefined) modelInfo[`${arch}.${key}`] = g[k];
    }
    return {
      license: "",
      modelfile: `# Reflexia model ${d.name}:${d.tag}\nFROM ${d.remote ? "remote" : d.path}\n`,
      parameters: "",
      template: "{{ .Prompt }}",
      details: detailsOf(d.manifest),
      model_info: modelInfo,
      capabilities: d.remote ? ["completion"] : ["completion", "embedding"],
      modified_at: d.manifest.createdAt,
      reflexia: {
        variant: `${d.name}:${d.tag}`,
        quantization: d.quantization,
        variants: d.variants,
        size_bytes: d.sizeBytes,
        estimated_memory_bytes: d.estimatedMemoryBytes,
        context_size: d.contextSize,
        source: d.manifest.source,
        kind: d.manifest.kind ?? "local",
        // Where the upstream is and whether a key is configured; never the key, its file or its variable.
        ...(d.remote ? { remote: publicRemoteSpec(d.remote) } : {}),
      },
    };
  });

  app.get("/api/ps", async () => ({
    models: models
      .running()
      .filter((v) => !v.embedding)
      .map((v) => ({
        name: `${v.name}:${v.tag}`,
        model: `${v.name}:${v.tag}`,
        size: (v.estimatedBytes || v.sizeBytes) + v.vramBytes,
        digest: "",
        details: {
          parent_model: "",
          format: "gguf",
          family: "",
          families: [],
          parameter_size: "",
          quantization_level: v.quantization.toUpperCase(),
        },
        // Kept forever while busy or with keep_alive -1: a far-future date, as Ollama reports.
        expires_at: v.expiresAt ?? "2318-01-01T00:00:00Z",
        size_vram: v.vramBytes,
        context_length: v.contextSize,
        reflexia: {
          running: v.running,
          queued: v.queued,
          active_sequences: v.activeSequences,
          parallel: v.parallel,
          gpu_layers: v.gpuLayers,
          total_layers: v.totalLayers,
        },
      })),
  }));

  app.post("/api/embed", { schema: { body: embedBodySchema } }, async (request, reply) => {
    const body = request.body;
    const input = Array.isArray(body.input) ? body.input : [body.input];
    const out = await embeddings.embed({
      model: body.model,
      input,
      keepAliveSeconds: parseKeepAlive(body.keep_alive),
      signal: clientAbortSignal(request, reply),
    });
    return {
      model: body.model,
      embeddings: out.embeddings,
      total_duration: ns(out.totalMs),
      load_duration: ns(out.loadMs),
      prompt_eval_count: out.promptTokens,
    };
  });

  app.post("/api/embeddings", { schema: { body: legacyEmbeddingsBodySchema } }, async (request, reply) => {
    const body = request.body;
    const out = await embeddings.embed({
      model: body.model,
      input: [body.prompt],
      keepAliveSeconds: parseKeepAlive(body.keep_alive),
      signal: clientAbortSignal(request, reply),
    });
    return { embedding: out.embeddings[0] ?? [] };
  });

  app.post("/api/create", { schema: { body: createBodySchema } }, async (request, reply) => {
    const body = request.body;
    if (body.remote) return createRemote(body.remote, modelOrName(body), body);
    if (body.from === undefined) throw new ReflexiaError("RFX_VALIDATION", "from or remote is required");
    const req = { model: modelOrName(body), from: body.from, quantize: body.quantize };
    // What can be refused is refused before the first byte, with its status; the stream only carries progress
    // and the errors that can only happen on the way (a failed quantization).
    await models.checkCreate(req);
    if (body.stream === false) {
      await models.create(req);
      return { status: "success" };
    }
    const stream = new PassThrough();
    stream.on("error", () => {});
    reply.type("application/x-ndjson").send(stream);
    endStreamOnShutdown(request.server, stream, (e) => line({ error: e.message, code: e.code, done: true }));
    const write = (x: unknown): void => {
      if (!stream.writableEnded) stream.write(line(x));
    };
    const finish = (last: unknown): void => {
      if (!stream.writableEnded) stream.end(line(last));
    };
    models
      .create(req, (s) => write({ status: s }))
      .then(
        () => finish({ status: "success" }),
        (e: unknown) => {
          const err = toHttpError(e);
          finish({ error: err.message, code: err.code, done: true });
        },
      );
    return reply;
  });

  /** `/api/create {remote}`: a remote variant; the key may only come from a REFLEXIA_UPSTREAM_* variable. */
  async function createRemote(
    remote: Static<typeof remoteBodySchema>,
    model: string,
    body: { from?: string; quantize?: string; stream?: boolean },
  ) {
    if (body.from !== undefined || body.quantize !== undefined)
      throw new ReflexiaError("RFX_VALIDATION", "remote cannot be combined with from or quantize");
    if ("api_key_file" in remote)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        "remote.api_key_file is accepted only from the CLI or the config file (a client must not make the server send a file of its choosing); use remote.api_key_env with a REFLEXIA_UPSTREAM_* variable",
      );
    assertKnownFields(remote, REMOTE_FIELDS, "remote");
    const ref = parseModelRef(model);
    await models.addRemote({
      name: ref.name,
      tag: ref.tag ?? remote.quantization ?? "latest",
      quantization: remote.quantization,
      remote: remoteSpecFromFields(remote),
      force: remote.force,
    });
    return { status: "success" };
  }

  app.post("/api/copy", { schema: { body: copyBodySchema } }, async (request, reply) => {
    const body = request.body;
    await models.copy(body.source, body.destination);
    return reply.status(200).send();
  });

  app.delete("/api/delete", { schema: { body: modelNameBodySchema } }, async (request, reply) => {
    const body = request.body;
    await models.remove(modelOrName(body));
    return reply.status(200).send();
  });

  app.get("/api/version", async () => ({ version: deps.version }));
}

export type { ReflexiaMeta };
