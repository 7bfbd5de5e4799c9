// A light English stemmer for the built-in embedder's word features. The BM25 side does not use it: it stems as
// LanceDB's full-text index does (src/rag/retrieve/snowball-english.ts).

/**
 * Strips the commonest English inflections so "exports"/"exported"/"exporting" share one form. Changing it
 * changes the built-in embedder's vector space: bump its id (stores of the old id then refuse to open).
 */
export function stemEnglish(w: string): string {
  if (w.length <= 3 || /\d/.test(w)) return w;
  if (w.endsWith("ies") && w.length > 4) return `${w.slice(0, -3)}y`;
  if (w.endsWith("sses")) return w.slice(0, -2);
  if (w.endsWith("ing") && w.length > 5) return w.slice(0, -3);
  if (w.endsWith("ed") && w.length > 4) return w.slice(0, -2);
  if (w.endsWith("es") && w.length > 4 && /(?:ch|sh|x|z|ss)es$/.test(w)) return w.slice(0, -2);
  if (w.endsWith("s") && !w.endsWith("ss") && !w.endsWith("us") && !w.endsWith("is")) return w.slice(0, -1);
  return w;
}
