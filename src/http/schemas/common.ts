// JSON-schema building blocks shared by the API families; the error body every route documents.

export const errorResponseSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" } },
    },
  },
} as const;

/** A model reference: `name` or `name:tag` (validated precisely by the registry). */
export const modelRefSchema = { type: "string", minLength: 1, maxLength: 300 } as const;

/** A stop sequence or a list of them. */
export const stopSchema = {
  anyOf: [
    { type: "string", maxLength: 1000 },
    { type: "array", maxItems: 16, items: { type: "string", maxLength: 1000 } },
    { type: "null" },
  ],
} as const;

/** Ollama keep_alive: seconds as a number, or a duration string ("5m", "1h30m", "-1", "0"). */
export const keepAliveSchema = {
  anyOf: [{ type: "number" }, { type: "string", maxLength: 32 }],
} as const;

/** Reflexia's expert role id. */
export const roleIdSchema = { type: "string", minLength: 1, maxLength: 100 } as const;

/** Upper bound for token-count fields in schemas; the service then checks against the real context size. */
export const MAX_TOKENS_BOUND = 2 ** 31 - 1;
