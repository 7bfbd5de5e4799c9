// ModelInfo of a loaded node-llama-cpp model, read from its GGUF header and llama.cpp's own view of it.
import { statSync } from "node:fs";
import { GgufFileType, type LlamaModel } from "node-llama-cpp";
import type { ModelInfo } from "../types.ts";

/** "MOSTLY_Q4_K_M" → "q4_k_m", "ALL_F32" → "f32"; the names Reflexia uses for quantization tags. */
export function fileTypeName(fileType: number | undefined): string {
  if (fileType === undefined) return "unknown";
  const name = GgufFileType[fileType];
  if (typeof name !== "string") return `unknown(${fileType})`;
  return name.replace(/^(MOSTLY|ALL)_/, "").toLowerCase();
}

export function readModelInfo(model: LlamaModel, path: string): ModelInfo {
  const metadata = model.fileInfo.metadata as unknown as {
    general?: { architecture?: string; file_type?: number };
    tokenizer?: { ggml?: { tokens?: readonly string[] } };
  };
  const arch = model.fileInfo.architectureMetadata as unknown as { vocab_size?: number } | undefined;
  return {
    architecture: String(metadata.general?.architecture ?? "unknown"),
    parameterCount: model.fileInsights.totalParameters,
    trainContextSize: model.trainContextSize,
    fileType: fileTypeName(metadata.general?.file_type),
    sizeBytes: statSync(path).size,
    embeddingSize: model.embeddingVectorSize,
    vocabSize: metadata.tokenizer?.ggml?.tokens?.length ?? arch?.vocab_size ?? 0,
  };
}
