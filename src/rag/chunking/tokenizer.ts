// Token counting for chunking: a fast model-free approximation by default, a model's own tokenizer when plugged in.

/** Counts tokens of text; chunk sizes and prompt budgets are measured with it. */
export interface Tokenizer {
  /** Names the tokenizer, e.g. "approx-wordpiece" or "model:nomic-embed". */
  readonly id: string;
  count(text: string): number;
}

// Letters of scripts written without spaces count one token per character, as BPE vocabularies mostly do.
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u;
const PIECES = /[\p{L}\p{M}]+|\p{N}+|([^\s\p{L}\p{M}\p{N}])\1*/gu;

/** Letters per sub-word piece beyond the first piece: BPE vocabularies average ~4-5 characters per English token. */
const CHARS_PER_PIECE = 5;
/** Words up to this length are one token (common words are whole entries in any vocabulary). */
const WHOLE_WORD_CHARS = 7;

function countPiece(piece: string): number {
  const c = piece.codePointAt(0)!;
  if (c < 0x80 ? /[a-zA-Z]/.test(piece[0]) : /[\p{L}\p{M}]/u.test(piece[0])) {
    if (CJK.test(piece)) {
      let n = 0;
      for (const ch of piece) n += CJK.test(ch) ? 1 : 0.25;
      return Math.ceil(n);
    }
    return piece.length <= WHOLE_WORD_CHARS ? 1 : Math.ceil(piece.length / CHARS_PER_PIECE);
  }
  if (c < 0x80 ? c >= 0x30 && c <= 0x39 : /\p{N}/u.test(piece[0])) return Math.ceil(piece.length / 3);
  // Runs of one punctuation mark ("-----", "...") merge in BPE vocabularies.
  return Math.ceil(piece.length / 4);
}

/**
 * Approximates a word-piece/BPE token count without a model: words up to 7 letters are one token, longer
 * words one per 5 letters, digits one per 3, punctuation runs one per 4 characters, CJK one per character.
 * Whitespace is free. English prose comes out at 1.0-1.6 tokens per word, the range of BPE vocabularies; plug in
 * the model's tokenizer (createModelTokenizer) where an exact budget matters.
 */
export function createApproxTokenizer(): Tokenizer {
  return {
    id: "approx-wordpiece",
    count(text: string): number {
      let n = 0;
      for (const m of text.matchAll(PIECES)) n += countPiece(m[0]);
      return n;
    },
  };
}

/** Adapts anything with `tokenize(text) → ids` (a LoadedModel of the Engine contract) to a Tokenizer. */
export function createModelTokenizer(model: { tokenize(text: string): number[] }, id = "model"): Tokenizer {
  return { id: `model:${id}`, count: (text) => (text === "" ? 0 : model.tokenize(text).length) };
}
