// JSON schemas of the OpenAI-compatible request bodies (extra fields are accepted and ignored, as OpenAI does).
import { MAX_TOKENS_BOUND, modelRefSchema, roleIdSchema, stopSchema } from "./common.ts";
import { ragRequestProperties } from "./documents.ts";

const contentPartSchema = {
  type: "object",
  required: ["type"],
  properties: { type: { type: "string" }, text: { type: "string" } },
} as const;

const messageSchema = {
  type: "object",
  required: ["role"],
  properties: {
    role: { type: "string", enum: ["system", "developer", "user", "assistant", "tool", "function"] },
    content: { anyOf: [{ type: "string" }, { type: "null" }, { type: "array", maxItems: 1000, items: contentPartSchema }] },
    name: { type: "string" },
  },
} as const;

const sampling = {
  max_tokens: { anyOf: [{ type: "integer", minimum: 1, maximum: MAX_TOKENS_BOUND }, { type: "null" }] },
  max_completion_tokens: { anyOf: [{ type: "integer", minimum: 1, maximum: MAX_TOKENS_BOUND }, { type: "null" }] },
  temperature: { anyOf: [{ type: "number", minimum: 0, maximum: 2 }, { type: "null" }] },
  top_p: { anyOf: [{ type: "number", minimum: 0, maximum: 1 }, { type: "null" }] },
  top_k: { type: "integer", minimum: 0, maximum: 100000 },
  seed: { anyOf: [{ type: "integer", minimum: -(2 ** 53), maximum: 2 ** 53 }, { type: "null" }] },
  n: { anyOf: [{ type: "integer", minimum: 1, maximum: 128 }, { type: "null" }] },
  stop: stopSchema,
  frequency_penalty: { anyOf: [{ type: "number", minimum: -2, maximum: 2 }, { type: "null" }] },
  presence_penalty: { anyOf: [{ type: "number", minimum: -2, maximum: 2 }, { type: "null" }] },
  repeat_penalty: { type: "number", minimum: 0, maximum: 10 },
  stream: { anyOf: [{ type: "boolean" }, { type: "null" }] },
  stream_options: {
    anyOf: [{ type: "object", properties: { include_usage: { type: "boolean" } } }, { type: "null" }],
  },
  user: { type: "string" },
  role: roleIdSchema,
  keep_alive: { anyOf: [{ type: "number" }, { type: "string", maxLength: 32 }] },
  ...ragRequestProperties,
} as const;

export const chatCompletionBodySchema = {
  type: "object",
  required: ["messages"],
  properties: {
    model: modelRefSchema,
    messages: { type: "array", minItems: 1, maxItems: 10000, items: messageSchema },
    tools: { type: "array", maxItems: 0 },
    ...sampling,
  },
} as const;

export const completionBodySchema = {
  type: "object",
  required: ["prompt"],
  properties: {
    model: modelRefSchema,
    prompt: { anyOf: [{ type: "string" }, { type: "array", minItems: 1, maxItems: 1, items: { type: "string" } }] },
    suffix: { anyOf: [{ type: "string", maxLength: 0 }, { type: "null" }] },
    echo: { anyOf: [{ type: "boolean", const: false }, { type: "null" }] },
    best_of: { anyOf: [{ type: "integer", minimum: 1, maximum: 1 }, { type: "null" }] },
    ...sampling,
  },
} as const;

export const embeddingsBodySchema = {
  type: "object",
  required: ["input"],
  properties: {
    model: modelRefSchema,
    input: {
      anyOf: [
        { type: "string" },
        // How many inputs is embeddings.max_inputs (EMBED_MAX_INPUTS), checked by the embed service.
        { type: "array", minItems: 1, items: { type: "string" } },
      ],
    },
    encoding_format: { type: "string", enum: ["float", "base64"] },
    dimensions: { type: "integer", minimum: 1 },
    user: { type: "string" },
  },
} as const;

export const modelParamsSchema = {
  type: "object",
  required: ["*"],
  properties: { "*": { type: "string", minLength: 1, maxLength: 300 } },
} as const;
