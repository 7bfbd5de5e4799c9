// BM25 as every in-process full-text retriever computes it: the term analysis and the per-term score.
import { stemEnglish } from "../chunking/stem-english.ts";

/** Term-frequency saturation and length normalisation, the usual Okapi values (LanceDB's too). */
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;
/** Longer tokens are dropped (hashes, base64), as LanceDB's tokenizer does past its max token length. */
const MAX_TERM_LENGTH = 40;
/** English function words (the list of tantivy's stop-word filter): they match nearly every chunk. */
const STOPWORDS = new Set(
  "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with".split(
    " ",
  ),
);

/** Word → term (null for a dropped word): the vocabulary repeats, so each word is analysed once. */
const termOfWord = new Map<string, string | null>();
const TERM_CACHE_ENTRIES = 200_000;

/** Lower-cased, accent-folded, stemmed words and numbers of `text`, stop words and over-long tokens dropped. */
export function bm25Terms(text: string): string[] {
  const out: string[] = [];
  // ASCII text (the usual case) has nothing to fold: skip the Unicode normalisation, which dominated indexing.
  const ascii = !/[^\x00-\x7f]/.test(text);
  const words = ascii
    ? text.toLowerCase().match(/[a-z0-9]+/g)
    : text
        .toLowerCase()
        .normalize("NFKD")
        .replace(/\p{M}+/gu, "")
        .match(/[\p{L}\p{N}]+/gu);
  if (!words) return out;
  for (const w of words) {
    let term = termOfWord.get(w);
    if (term === undefined) {
      term = w.length <= MAX_TERM_LENGTH && !STOPWORDS.has(w) ? stemEnglish(w) : null;
      if (termOfWord.size >= TERM_CACHE_ENTRIES) termOfWord.clear();
      termOfWord.set(w, term);
    }
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
