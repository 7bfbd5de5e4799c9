// Schemas of the Ollama-compatible request bodies, and the types the routes read them as.
import { Type, type Static } from "typebox";
import {
  keepAliveSchema,
  MAX_TOKENS_BOUND,
  modelRefSchema,
  nullable,
  penaltySchema,
  repeatPenaltySchema,
  roleIdSchema,
  seedSchema,
  stopSchema,
  stringEnum,
} from "./common.ts";
import { ragRequestProperties } from "./documents.ts";
import { functionToolSchema, toolChoiceSchema } from "./openai.ts";

/**
 * The one statement of the Ollama options' ranges: requests are validated against it, and so are a created model's
 * `parameters` and Modelfile PARAMETER lines (routes/ollama/check-options.ts), so a model never stores a default its
 * requests would then be refused for. Each range lies within what engine/resolve-sampling.ts accepts.
 */
export const ollamaOptionsSchema = Type.Object({
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  top_p: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  top_k: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 })),
  /** -1 is random, as Ollama's default (llama.cpp's LLAMA_DEFAULT_SEED). */
  seed: Type.Optional(seedSchema),
  // -1: until the default limit, -2: until the context is full (Ollama's meanings); 0 is refused (NUM_PREDICT_RULE).
  num_predict: Type.Optional(Type.Integer({ minimum: -2, maximum: MAX_TOKENS_BOUND })),
  stop: Type.Optional(stopSchema),
  repeat_penalty: Type.Optional(repeatPenaltySchema),
  frequency_penalty: Type.Optional(penaltySchema),
  presence_penalty: Type.Optional(penaltySchema),
  num_ctx: Type.Optional(Type.Integer({ minimum: 1 })),
  // Accepted by the schema so the refusal names them (routes/ollama/check-options.ts says which values work).
  min_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  num_keep: Type.Optional(Type.Integer()),
  num_thread: Type.Optional(Type.Integer()),
});

export type OllamaOptions = Static<typeof ollamaOptionsSchema>;

const common = {
  model: modelRefSchema,
  options: Type.Optional(ollamaOptionsSchema),
  stream: Type.Optional(Type.Boolean()),
  keep_alive: Type.Optional(keepAliveSchema),
  format: Type.Optional(Type.Union([Type.String(), Type.Unsafe<Record<string, unknown>>({ type: "object" })])),
  role: Type.Optional(roleIdSchema),
  logprobs: Type.Optional(Type.Boolean()),
  top_logprobs: Type.Optional(Type.Integer({ minimum: 0 })),
  /** A reasoning trace: true or a level is refused (no model here has the "thinking" capability); false is a no-op. */
  think: Type.Optional(nullable(Type.Union([Type.Boolean(), stringEnum(["high", "medium", "low"])]))),
  ...ragRequestProperties,
};

/** Base64 images: taken only when empty (no model here has a vision projector; routes/ollama.ts says so). */
const imagesSchema = Type.Optional(Type.Array(Type.String(), { maxItems: 64 }));

export const generateBodySchema = Type.Object({
  ...common,
  prompt: Type.Optional(Type.String()),
  /** Text after the gap: a fill-in-the-middle prompt (the model needs FIM tokens), as on /v1/completions. */
  suffix: Type.Optional(Type.String()),
  system: Type.Optional(Type.String()),
  template: Type.Optional(Type.String()),
  context: Type.Optional(Type.Array(Type.Integer())),
  raw: Type.Optional(Type.Boolean()),
  images: imagesSchema,
});

const ollamaToolCallSchema = Type.Object({
  /** The call's id (newer Ollama servers return one; LangChain's ChatOllama sends it back): a tool message's tool_call_id may answer it. */
  id: Type.Optional(Type.String({ maxLength: 200 })),
  /** Only "function" (routes/ollama.ts refuses another by name). */
  type: Type.Optional(Type.String({ maxLength: 64 })),
  function: Type.Object({
    // The call's place among the message's calls, as newer Ollama servers return it; the array's order says the same.
    index: Type.Optional(Type.Integer({ minimum: 0 })),
    name: Type.String({ maxLength: 200 }),
    arguments: Type.Record(Type.String(), Type.Unknown()),
  }),
});

// Any other field of a message or a tool call is refused by path (refuseUnknownFields in known-fields.ts).
export const ollamaMessageSchema = Type.Object({
  role: stringEnum(["system", "user", "assistant", "tool"]),
  /** Required except on an assistant message with tool_calls, where Ollama reads a missing one as "" (routes/ollama.ts). */
  content: Type.Optional(Type.String()),
  images: imagesSchema,
  tool_calls: Type.Optional(Type.Array(ollamaToolCallSchema, { maxItems: 128 })),
  tool_name: Type.Optional(Type.String({ maxLength: 200 })),
  /** Which call a tool message answers: an id an earlier assistant message's tool_calls gave (as on /v1). */
  tool_call_id: Type.Optional(Type.String({ maxLength: 200 })),
  /** An assistant turn's reasoning trace, as Ollama returns it with think: taken when empty (no model here thinks). */
  thinking: Type.Optional(Type.String()),
});

/** An Ollama tool: `type` defaults to "function" as in Ollama (routes/ollama.ts), and no other is accepted. */
const ollamaToolSchema = Type.Object({
  type: Type.Optional(Type.Literal("function")),
  function: functionToolSchema.properties.function,
});

export const chatBodySchema = Type.Object({
  ...common,
  messages: Type.Optional(Type.Array(ollamaMessageSchema, { maxItems: 10000 })),
  tools: Type.Optional(Type.Array(ollamaToolSchema, { maxItems: 128 })),
  /** Reflexia's extension (OpenAI's semantics): Ollama itself cannot force a call. */
  tool_choice: Type.Optional(toolChoiceSchema),
});

/** /api/show: Ollama clients send `model` (older ones `name`); `verbose` adds the GGUF header's every key. */
export const modelNameBodySchema = Type.Object(
  { model: Type.Optional(modelRefSchema), name: Type.Optional(modelRefSchema), verbose: Type.Optional(Type.Boolean()) },
  { anyOf: [{ required: ["model"] }, { required: ["name"] }] },
);

/** /api/delete: `model` (older clients: `name`) and nothing else, so a `verbose` is refused by name, not ignored. */
export const deleteBodySchema = Type.Object(
  { model: Type.Optional(modelRefSchema), name: Type.Optional(modelRefSchema) },
  { anyOf: [{ required: ["model"] }, { required: ["name"] }] },
);

export const embedBodySchema = Type.Object({
  model: modelRefSchema,
  // How many inputs is embeddings.max_inputs (EMBED_MAX_INPUTS), checked by the embed service. None or "" embeds
  // nothing and only loads the model, as Ollama's (an empty `embeddings` list).
  input: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
  truncate: Type.Optional(Type.Boolean()),
  /** Only the model's own vector size (as /v1/embeddings: embed-service's assertDimensions). */
  dimensions: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Only num_ctx applies: the most tokens an input may have (routes/ollama.ts). */
  options: Type.Optional(ollamaOptionsSchema),
  keep_alive: Type.Optional(keepAliveSchema),
});

export const legacyEmbeddingsBodySchema = Type.Object({
  model: modelRefSchema,
  prompt: Type.String(),
  options: Type.Optional(ollamaOptionsSchema),
  keep_alive: Type.Optional(keepAliveSchema),
});

/** `/api/create {remote}`: the remote variant's upstream servers (snake_case as in config remote.models). */
export const remoteBodySchema = Type.Object({
  urls: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1, maxItems: 64 }),
  upstream_model: Type.String({ minLength: 1, maxLength: 512 }),
  quantization: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  api_key_env: Type.Optional(Type.String({ pattern: "^REFLEXIA_UPSTREAM_[A-Z0-9_]+$", maxLength: 128 })),
  timeout_seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3600 })),
  request_timeout_seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86400 })),
  max_concurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
  extra_body: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  force: Type.Optional(Type.Boolean()),
});

export const copyBodySchema = Type.Object({ source: modelRefSchema, destination: modelRefSchema });
