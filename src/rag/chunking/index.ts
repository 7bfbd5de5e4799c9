// Token-bounded chunking with exact character offsets.
export { chunkText, type ChunkTextOptions, type TextChunk } from "./chunk-text.ts";
export { createApproxTokenizer, createModelTokenizer, type Tokenizer } from "./tokenizer.ts";
