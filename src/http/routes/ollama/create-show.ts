// /api/create (from a model or an uploaded GGUF, with system, template, parameters, messages, license, quantize)
// and /api/show (details, the settings as a Modelfile and as fields, capabilities).
import type { preValidationAsyncHookHandler } from "fastify";
import { Type } from "typebox";
import { ReflexiaError } from "../../../errors/index.ts";
import { secretVariableIsSet } from "../../../config/index.ts";
import type { Static } from "typebox";
import {
  parseModelRef,
  publicRemoteSpec,
  remoteSpecFromFields,
  type ModelDetails,
  type ModelfileSettings,
} from "../../../registry/index.ts";
import { effectiveTemplate, MODEL_PARAMETER_NAMES } from "../../../services/apply-modelfile.ts";
import { parseGoTemplate } from "../../../services/render-go-template.ts";
import { assertKnownFields } from "../../known-fields.ts";
import { modelParameterProblem } from "./check-options.ts";
import { modelRefSchema, stringEnum } from "../../schemas/common.ts";
import { modelNameBodySchema, remoteBodySchema } from "../../schemas/ollama.ts";
import type { AppDeps, RouteApp } from "../../types.ts";
import { detailsOf, modelOrName } from "../ollama.ts";
import { respondWithProgress } from "./progress-stream.ts";
import { formatModelfile, formatParameters } from "../../../registry/format-modelfile.ts";

const messageSchema = Type.Object({
  role: stringEnum(["system", "user", "assistant"]),
  content: Type.String({ maxLength: 1_000_000 }),
});

export const createBodySchema = Type.Object(
  {
    model: Type.Optional(modelRefSchema),
    name: Type.Optional(modelRefSchema),
    from: Type.Optional(modelRefSchema),
    files: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 80 }))),
    adapters: Type.Optional(Type.Record(Type.String(), Type.String(), { maxProperties: 0 })),
    quantize: Type.Optional(Type.String({ maxLength: 32 })),
    system: Type.Optional(Type.String({ maxLength: 1_000_000 })),
    template: Type.Optional(Type.String({ maxLength: 1_000_000 })),
    license: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 64 })])),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    messages: Type.Optional(Type.Array(messageSchema, { maxItems: 1000 })),
    /** A remote variant instead of a local one (Reflexia's extension): where its upstream servers are. */
    remote: Type.Optional(remoteBodySchema),
    stream: Type.Optional(Type.Boolean()),
  },
  { anyOf: [{ required: ["model"] }, { required: ["name"] }] },
);

/**
 * `remote.api_key_file` is the config file's and the CLI's: from a client it would make the server send a file of the
 * client's choosing. Refused with that reason at the route's own preValidation, which runs before the unknown-field
 * check (known-fields.ts) would refuse it without one.
 */
const refuseApiKeyFile: preValidationAsyncHookHandler = async (request) => {
  const remote = (request.body as { remote?: unknown } | null | undefined)?.remote;
  if (remote !== null && typeof remote === "object" && "api_key_file" in remote)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      "remote.api_key_file is accepted only from the CLI or the config file (a client must not make the server send a file of its choosing); use remote.api_key_env",
    );
};
/** Fields of a create body that describe a local model: none of them applies to a remote variant. */
const LOCAL_ONLY_FIELDS = [
  "from",
  "files",
  "quantize",
  "system",
  "template",
  "license",
  "parameters",
  "messages",
] as const;

/** The settings of a create body, checked: parameters by name and by a request option's range, the template against the rendered subset. */
function settingsOf(body: {
  system?: string;
  template?: string;
  license?: string | string[];
  parameters?: Record<string, unknown>;
  messages?: { role: "system" | "user" | "assistant"; content: string }[];
}): ModelfileSettings | undefined {
  const s: ModelfileSettings = {};
  if (body.system !== undefined) s.system = body.system;
  if (body.template !== undefined) {
    parseGoTemplate(body.template);
    s.template = body.template;
  }
  if (body.license !== undefined) s.license = Array.isArray(body.license) ? body.license : [body.license];
  if (body.messages !== undefined) s.messages = body.messages;
  if (body.parameters !== undefined) {
    assertKnownFields(body.parameters, MODEL_PARAMETER_NAMES, "parameters");
    for (const [k, v] of Object.entries(body.parameters)) {
      const problem = modelParameterProblem(k, v);
      if (problem) throw new ReflexiaError("RFX_VALIDATION", `parameters.${k} ${problem}`, { field: k });
    }
    s.parameters = body.parameters;
  }
  return Object.keys(s).length > 0 ? s : undefined;
}

/**
 * Capabilities by Ollama's names, as they work here (Ollama clients check them before sending tools or a suffix).
 * `goTemplate` is the stored Go template prompts are rendered with, when there is one.
 */
function capabilitiesOf(d: ModelDetails, goTemplate: string | undefined, engineFim: boolean): string[] {
  // A remote variant completes through its upstream, which is sent the tools (it may still refuse them: its 4xx
  // comes back as RFX_UPSTREAM_ERROR); embeddings are not relayed.
  if (d.remote) return ["completion", "tools"];
  const caps = ["completion"];
  // The engine's chat template carries the tools (rendered by a Jinja template that knows them, else folded into
  // the system message); a stored Go template is rendered without them, so the model would never see them.
  if (goTemplate === undefined) caps.push("tools");
  // suffix on /api/generate frames the prompt with the model's FIM tokens, which only the native engine does.
  if (d.gguf.fillInMiddle === true && engineFim) caps.push("insert");
  caps.push("embedding");
  return caps;
}

/**
 * The /api/show body of a variant (`reflexia show` builds the same one embedded). `d` carries the GGUF header's
 * every key when `verbose`; `engineFim`: the engine frames a suffix with FIM tokens (the native one does).
 */
export function ollamaShowBody(d: ModelDetails, options: { verbose: boolean; engineFim: boolean }) {
  const g = d.gguf;
  const arch = g.architecture;
  const modelInfo: Record<string, unknown> = {
    ...(options.verbose ? (g.metadata as Record<string, unknown> | undefined) : {}),
    "general.architecture": arch,
    "general.parameter_count": g.parameterCount,
    // The integer llama.cpp writes (2 for q4_0), as Ollama reports it; the name is details.quantization_level.
    ...(g.fileTypeId !== undefined ? { "general.file_type": g.fileTypeId } : {}),
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
  const settings = d.manifest.modelfile ?? {};
  // What formats a chat prompt: a stored Go template when Reflexia renders it, else the GGUF's own chat template.
  const goTemplate = d.remote ? undefined : effectiveTemplate(undefined, settings);
  const templateSource = d.remote
    ? "upstream"
    : goTemplate !== undefined
      ? "modelfile"
      : g.chatTemplate !== undefined
        ? "gguf"
        : "engine";
  return {
    license: (settings.license ?? []).join("\n"),
    modelfile: formatModelfile(`${d.name}:${d.tag}`, settings),
    parameters: formatParameters(settings.parameters),
    template: goTemplate ?? g.chatTemplate ?? "",
    system: settings.system ?? "",
    ...(settings.messages ? { messages: settings.messages } : {}),
    details: detailsOf(d.manifest),
    model_info: modelInfo,
    capabilities: capabilitiesOf(d, goTemplate, options.engineFim),
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
      // Where `template` comes from: "modelfile" (a Go template), "gguf" (its tokenizer.chat_template, Jinja),
      // "engine" (the file has none: the engine's fallback format), "upstream" (a remote variant's server).
      template_source: templateSource,
      // Where the upstream is and whether a key is configured; never the key, its file or its variable.
      ...(d.remote ? { remote: publicRemoteSpec(d.remote) } : {}),
    },
  };
}

export function registerOllamaCreateShowRoutes(app: RouteApp, deps: AppDeps): void {
  const { models } = deps;

  /** `/api/create {remote}`: a remote variant; the key may only come from a REFLEXIA_UPSTREAM_* variable. */
  async function createRemote(remote: Static<typeof remoteBodySchema>, model: string, body: Record<string, unknown>) {
    for (const f of LOCAL_ONLY_FIELDS)
      if (body[f] !== undefined)
        throw new ReflexiaError("RFX_VALIDATION", `remote cannot be combined with ${f} (it describes a local model)`);
    const ref = parseModelRef(model);
    const tag = ref.tag ?? remote.quantization ?? "latest";
    // The key is read from the server's environment at the first request: a variable that is not set there would
    // make every request fail, so the variant is not declared until it is.
    if (remote.api_key_env && !secretVariableIsSet(remote.api_key_env))
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `remote.api_key_env names ${remote.api_key_env}, which is not set in the server's environment; set it where the server runs (and restart it), then create the variant`,
        { field: "remote.api_key_env" },
      );
    try {
      await models.addRemote({
        name: ref.name,
        tag,
        quantization: remote.quantization,
        remote: remoteSpecFromFields(remote),
        force: remote.force,
      });
    } catch (e) {
      // The store's sentence names the CLI's --force; this API's switch is remote.force.
      if (e instanceof ReflexiaError && e.code === "RFX_MODEL_EXISTS")
        throw new ReflexiaError(
          "RFX_MODEL_EXISTS",
          `model ${ref.name}:${tag} already exists; set remote.force to true to replace it with this remote variant`,
          { model: `${ref.name}:${tag}` },
        );
      throw e;
    }
    return { status: "success" };
  }

  app.post(
    "/api/create",
    { schema: { body: createBodySchema }, preValidation: refuseApiKeyFile },
    async (request, reply) => {
      const body = request.body;
      if (body.remote) return createRemote(body.remote, modelOrName(body), body);
      const req = {
        model: modelOrName(body),
        from: body.from,
        files: body.files,
        quantize: body.quantize,
        modelfile: settingsOf(body),
      };
      // What can be refused is refused before the first byte, with its status.
      await models.checkCreate(req);
      return respondWithProgress(request, reply, body.stream !== false, async ({ emit }) => {
        // Quantize progress as Ollama's integer total/completed (here percent: the service reports a fraction), one
        // line per change, so a client's bar moves and no line repeats.
        let last = "";
        await models.create(req, (status, progress) => {
          const p = progress && {
            total: 100,
            completed: Math.max(0, Math.min(100, Math.floor((progress.completed / progress.total) * 100))),
          };
          const line = { status, ...p };
          const key = JSON.stringify(line);
          if (key === last) return;
          last = key;
          emit(line);
        });
      });
    },
  );

  app.post("/api/show", { schema: { body: modelNameBodySchema } }, async (request) => {
    const body = request.body;
    // verbose: every key of the GGUF header, the vocabulary's arrays whole, as Ollama's verbose show.
    const d: ModelDetails = await models.show(modelOrName(body), { metadata: body.verbose === true });
    return ollamaShowBody(d, {
      verbose: body.verbose === true,
      engineFim: deps.config.engine.backend !== "node-llama-cpp",
    });
  });
}
