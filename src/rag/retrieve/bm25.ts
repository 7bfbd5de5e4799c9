// BM25 as every in-process full-text retriever computes it: the term analysis and the per-term score.
//
// The analysis is LanceDB's full-text index's, step for step (tantivy's analyzer as Lance builds it for
// `Index.fts()` with its defaults: the "simple" tokenizer, then remove-long, lower-case, English stemming, English
// stop words, ASCII folding, in that order), so the in-memory index and LanceDB hold the same terms and return the
// same chunks. src/rag/store/fts-parity.test.ts checks it against a real LanceDB index.
import { foldToAscii } from "./ascii-fold.ts";
import { stemSnowballEnglish } from "./snowball-english.ts";

/** Term-frequency saturation and length normalisation, the usual Okapi values (LanceDB's too). */
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;
/** Tokens of this many UTF-8 bytes or more are dropped (hashes, base64), as Lance's default max_token_length. */
const MAX_TOKEN_BYTES = 40;
/** English function words (tantivy's English stop-word list), dropped after stemming as tantivy does. */
const STOPWORDS = new Set(
  "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with".split(
    " ",
  ),
);

/** Lower-cased token → term (null for a dropped one): the vocabulary repeats, so each token is analysed once. */
const termOfToken = new Map<string, string | null>();
const TERM_CACHE_ENTRIES = 200_000;

function analyse(lower: string): string | null {
  let term = termOfToken.get(lower);
  if (term === undefined) {
    const stem = stemSnowballEnglish(lower);
    term = STOPWORDS.has(stem) ? null : foldToAscii(stem);
    if (termOfToken.size >= TERM_CACHE_ENTRIES) termOfToken.clear();
    termOfToken.set(lower, term);
  }
  return term;
}

/** Lower-cases one character at a time, as tantivy does (so a final Σ is σ, not ς). */
function lowerCase(token: string): string {
  return token.includes("\u03a3") ? Array.from(token, (c) => c.toLowerCase()).join("") : token.toLowerCase();
}

/**
 * The BM25 terms of `text` as LanceDB indexes it: runs of letters and digits (Unicode alphabetic or numeric),
 * those under 40 UTF-8 bytes, lower-cased, stemmed (Snowball English), English stop words dropped, ASCII-folded.
 */
export function bm25Terms(text: string): string[] {
  const out: string[] = [];
  // ASCII text (the usual case): a token's bytes are its characters and lower-casing it first changes nothing.
  if (!/[^\x00-\x7f]/.test(text)) {
    for (const w of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
      if (w.length >= MAX_TOKEN_BYTES) continue;
      const term = analyse(w);
      if (term !== null) out.push(term);
    }
    return out;
  }
  // Tokenised before lower-casing: lower-casing can yield a combining mark (İ → i̇) that would split a token.
  for (const token of text.match(/[\p{Alphabetic}\p{N}]+/gu) ?? []) {
    if (Buffer.byteLength(token) >= MAX_TOKEN_BYTES) continue;
    const term = analyse(lowerCase(token));
    if (term !== null) out.push(term);
  }
  return out;
}

/** Inverse document frequency of a term found in `df` of `n` chunks (never negative). */
export function bm25Idf(n: number, df: number): number {
  return Math.log(1 + (n - df + 0.5) / (df + 0.5));
}

/** One term's contribution to a chunk's score: `tf` occurrences in a chunk of `len` terms, `avgLen` on average. */
export function bm25TermScore(idf: number, tf: number, len: number, avgLen: number): number {
  return (idf * tf * (BM25_K1 + 1)) / (tf + BM25_K1 * (1 - BM25_B + (BM25_B * len) / (avgLen || 1)));
}
