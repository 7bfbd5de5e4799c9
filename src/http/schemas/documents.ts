// JSON schemas of the document and retrieval routes (/api/documents, /api/upload, /api/rag/*).

/** Query-string integers arrive as strings (the app never coerces types), so they are matched as digit strings. */
const digits = { type: "string", pattern: "^[0-9]{1,15}$" } as const;
const flag = { type: "string", enum: ["1", "0", "true", "false"] } as const;

export const DOCUMENT_TYPE_HINTS = ["text", "markdown", "html", "pdf", "json", "csv", "code"] as const;

export const documentBodySchema = {
  type: "object",
  anyOf: [{ required: ["content"] }, { required: ["content_base64"] }],
  properties: {
    /** The document's text (or markup, JSON, CSV, code). */
    content: { type: "string" },
    /** The document's bytes in base64 (for PDFs and other binary formats). */
    content_base64: { type: "string" },
    title: { type: "string", maxLength: 500 },
    /** Identity of the origin: re-posting changed content with the same source replaces the document. */
    source: { type: "string", minLength: 1, maxLength: 1024 },
    /** A type hint (the content decides): one of DOCUMENT_TYPE_HINTS. */
    type: { type: "string", enum: DOCUMENT_TYPE_HINTS },
    mime_type: { type: "string", maxLength: 200 },
    /** A file name used as a type hint and title; never a path. */
    filename: { type: "string", maxLength: 500 },
  },
} as const;

export const listDocumentsQuerySchema = {
  type: "object",
  properties: { offset: digits, limit: digits },
  additionalProperties: false,
} as const;

export const documentParamsSchema = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, maxLength: 200 } },
} as const;

export const getDocumentQuerySchema = {
  type: "object",
  properties: { text: flag, chunks: flag },
  additionalProperties: false,
} as const;

export const ragQueryBodySchema = {
  type: "object",
  required: ["query"],
  properties: {
    query: { type: "string", minLength: 1, maxLength: 100_000 },
    top_k: { type: "integer", minimum: 1, maximum: 100 },
    hybrid: { type: "boolean" },
    /** Bypass the ANN index (exact search). */
    exact: { type: "boolean" },
  },
} as const;

/** `rag` / `use_rag` on chat and generate bodies: true, or options. */
export const ragRequestProperties = {
  rag: {
    anyOf: [
      { type: "boolean" },
      {
        type: "object",
        properties: { top_k: { type: "integer", minimum: 1, maximum: 100 }, hybrid: { type: "boolean" } },
        additionalProperties: false,
      },
    ],
  },
  use_rag: { type: "boolean" },
} as const;
