// The tokens that are not text on their own (a byte of a multi-byte character: their piece decodes to U+FFFD). The
// benchmarks that drive llama-server ban them on both sides: llama-server refuses to stream output that is not valid
// UTF-8, and the synthetic models' random weights pick byte tokens freely.
export function nonTextTokens(model: { info: { vocabSize: number }; detokenize(ids: number[]): string }): number[] {
  const ids: number[] = [];
  for (let id = 0; id < model.info.vocabSize; id++) if (model.detokenize([id]).includes("\uFFFD")) ids.push(id);
  return ids;
}
