// Reads `rag` / `use_rag` from a chat or generate body into the inference request's RAG options.
import type { RagRequestOptions } from "./rag-augment.ts";

export interface RagBodyFields {
  rag?: boolean | { top_k?: number; hybrid?: boolean };
  use_rag?: boolean;
}

/** undefined unless the body asks for RAG (`rag: true`, `rag: {…}` or `use_rag: true`); `rag: false` wins. */
export function ragOptionOf(body: RagBodyFields): RagRequestOptions | undefined {
  if (body.rag === false) return undefined;
  if (typeof body.rag === "object" && body.rag !== null) return { topK: body.rag.top_k, hybrid: body.rag.hybrid };
  return body.rag === true || body.use_rag === true ? {} : undefined;
}
