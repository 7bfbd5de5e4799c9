// Schemas of the document and retrieval routes (/api/documents, /api/upload, /api/rag/*), and their types.
import { Type } from "typebox";
import { stringEnum } from "./common.ts";

/** Query-string integers arrive as strings (the app never coerces types), so they are matched as digit strings. */
const digits = Type.String({ pattern: "^[0-9]{1,15}$" });
const flag = stringEnum(["1", "0", "true", "false"]);

export const DOCUMENT_TYPE_HINTS = ["text", "markdown", "html", "pdf", "json", "csv", "code"] as const;

/** Longest title and source a document may have (the JSON route and the multipart upload's form fields alike). */
export const DOCUMENT_FIELD_MAX_LENGTH = { title: 500, source: 1024 } as const;

export const documentBodySchema = Type.Object(
  {
    /** The document's text (or markup, JSON, CSV, code). */
    content: Type.Optional(Type.String()),
    /** The document's bytes in base64 (for PDFs and other binary formats). */
    content_base64: Type.Optional(Type.String()),
    title: Type.Optional(Type.String({ maxLength: DOCUMENT_FIELD_MAX_LENGTH.title })),
    /** Identity of the origin: re-posting changed content with the same source replaces the document. */
    source: Type.Optional(Type.String({ minLength: 1, maxLength: DOCUMENT_FIELD_MAX_LENGTH.source })),
    /** A type hint (the content decides): one of DOCUMENT_TYPE_HINTS. */
    type: Type.Optional(stringEnum(DOCUMENT_TYPE_HINTS)),
    mime_type: Type.Optional(Type.String({ maxLength: 200 })),
    /** A file name used as a type hint and title; never a path. */
    filename: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { anyOf: [{ required: ["content"] }, { required: ["content_base64"] }] },
);

export const listDocumentsQuerySchema = Type.Object(
  { offset: Type.Optional(digits), limit: Type.Optional(digits) },
  { additionalProperties: false },
);

export const documentParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

export const getDocumentQuerySchema = Type.Object(
  { text: Type.Optional(flag), chunks: Type.Optional(flag) },
  { additionalProperties: false },
);

export const ragQueryBodySchema = Type.Object({
  /** No minLength: an empty (or blank) query is refused by the RAG service, in the one sentence embedded runs give. */
  query: Type.String({ maxLength: 100_000 }),
  top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  hybrid: Type.Optional(Type.Boolean()),
  /** Bypass the ANN index (exact search). */
  exact: Type.Optional(Type.Boolean()),
});

/** `rag` / `use_rag` on chat and generate bodies: true, or options. */
export const ragRequestProperties = {
  rag: Type.Optional(
    Type.Union([
      Type.Boolean(),
      Type.Object(
        { top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), hybrid: Type.Optional(Type.Boolean()) },
        { additionalProperties: false },
      ),
    ]),
  ),
  use_rag: Type.Optional(Type.Boolean()),
};
