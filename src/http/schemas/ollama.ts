// JSON schemas of the Ollama-compatible request bodies.
import { keepAliveSchema, MAX_TOKENS_BOUND, modelRefSchema, roleIdSchema, stopSchema } from "./common.ts";
import { ragRequestProperties } from "./documents.ts";

export const ollamaOptionsSchema = {
  type: "object",
  properties: {
    temperature: { type: "number", minimum: 0, maximum: 100 },
    top_p: { type: "number", minimum: 0, maximum: 1 },
    top_k: { type: "integer", minimum: 0, maximum: 100000 },
    seed: { type: "integer", minimum: -(2 ** 53), maximum: 2 ** 53 },
    // -1: until the default limit, -2: until the context is full (Ollama's meanings).
    num_predict: { type: "integer", minimum: -2, maximum: MAX_TOKENS_BOUND },
    stop: stopSchema,
    repeat_penalty: { type: "number", minimum: 0, maximum: 10 },
    num_ctx: { type: "integer", minimum: 1 },
  },
} as const;

const common = {
  model: modelRefSchema,
  options: ollamaOptionsSchema,
  stream: { type: "boolean" },
  keep_alive: keepAliveSchema,
  format: { anyOf: [{ type: "string" }, { type: "object" }] },
  role: roleIdSchema,
  ...ragRequestProperties,
} as const;

const imagesSchema = { type: "array", maxItems: 0 } as const;

export const generateBodySchema = {
  type: "object",
  required: ["model"],
  properties: {
    ...common,
    prompt: { type: "string" },
    suffix: { type: "string", maxLength: 0 },
    system: { type: "string" },
    template: { type: "string" },
    context: { type: "array", items: { type: "integer" } },
    raw: { type: "boolean" },
    images: imagesSchema,
  },
} as const;

export const chatBodySchema = {
  type: "object",
  required: ["model"],
  properties: {
    ...common,
    messages: {
      type: "array",
      maxItems: 10000,
      items: {
        type: "object",
        required: ["role", "content"],
        properties: {
          role: { type: "string", enum: ["system", "user", "assistant"] },
          content: { type: "string" },
          images: imagesSchema,
        },
      },
    },
    tools: { type: "array", maxItems: 0 },
  },
} as const;

/** /api/show, /api/delete: Ollama clients send `model` (older ones `name`). */
export const modelNameBodySchema = {
  type: "object",
  anyOf: [{ required: ["model"] }, { required: ["name"] }],
  properties: { model: modelRefSchema, name: modelRefSchema, verbose: { type: "boolean" } },
} as const;

export const embedBodySchema = {
  type: "object",
  required: ["model", "input"],
  properties: {
    model: modelRefSchema,
    // How many inputs is embeddings.max_inputs (EMBED_MAX_INPUTS), checked by the embed service.
    input: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
    truncate: { type: "boolean" },
    options: ollamaOptionsSchema,
    keep_alive: keepAliveSchema,
  },
} as const;

export const legacyEmbeddingsBodySchema = {
  type: "object",
  required: ["model", "prompt"],
  properties: { model: modelRefSchema, prompt: { type: "string" }, options: ollamaOptionsSchema, keep_alive: keepAliveSchema },
} as const;

export const createBodySchema = {
  type: "object",
  anyOf: [{ required: ["model"] }, { required: ["name"] }],
  required: ["from"],
  properties: {
    model: modelRefSchema,
    name: modelRefSchema,
    from: modelRefSchema,
    quantize: { type: "string", maxLength: 32 },
    stream: { type: "boolean" },
  },
} as const;

export const copyBodySchema = {
  type: "object",
  required: ["source", "destination"],
  properties: { source: modelRefSchema, destination: modelRefSchema },
} as const;
