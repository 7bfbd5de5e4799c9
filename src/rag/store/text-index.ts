// The text half of the in-memory index: an inverted index of BM25 terms over numbered slots, scored in process.
//
// Postings are packed typed arrays per term (slot, term frequency). Removing a slot only marks it dead and takes
// its terms out of the statistics; its postings stay until purge() drops every dead posting at once, which is
// why a removed slot must not be reused before the next purge (the caller's free list waits for it).
import { bm25Idf, bm25Terms, bm25TermScore } from "../retrieve/bm25.ts";

export interface TextIndexStats {
  /** Live slots. */
  slots: number;
  terms: number;
  postings: number;
  /** Postings of removed slots not purged yet. */
  deadPostings: number;
  /** Approximate bytes held: postings, the term dictionary and the per-slot arrays up to the highest slot used. */
  bytes: number;
}

export interface TextIndex {
  /** Indexes `text` at a slot that is not live. */
  add(slot: number, text: string): void;
  /** Removes a live slot; `text` must be what was added (its terms leave the statistics). */
  remove(slot: number, text: string): void;
  /** The best `limit` live slots for `query` by BM25, best first (ties by slot). */
  search(query: string, limit: number): { slot: number; score: number }[];
  /** Drops the postings of removed slots; afterwards every removed slot may be reused. */
  purge(): void;
  stats(): TextIndexStats;
  clear(): void;
}

interface Postings {
  slots: Int32Array;
  tfs: Uint16Array;
  n: number;
  /** Live slots containing the term. */
  df: number;
}

/** Rough V8 cost of a dictionary entry beyond its characters (Map slot, string header, Postings object). */
const TERM_OVERHEAD_BYTES = 120;
/** The per-slot arrays: length (float64), live flag (byte) and score accumulator (float64). */
const SLOT_BYTES = 8 + 1 + 8;

/** Counts each term of `text` once per occurrence, capped to what a Uint16 holds. */
function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of bm25Terms(text)) counts.set(t, Math.min(65535, (counts.get(t) ?? 0) + 1));
  return counts;
}

export function createTextIndex(): TextIndex {
  let dict = new Map<string, Postings>();
  let dictChars = 0;
  let lens = new Float64Array(0);
  let alive = new Uint8Array(0);
  let acc = new Float64Array(0);
  let live = 0;
  let totalLen = 0;
  let postings = 0;
  /** Bytes of the postings arrays as allocated (kept current, so stats() is O(1)). */
  let postingBytes = 0;
  let dead = 0;
  /** One past the highest slot ever added (until clear): what the per-slot arrays must hold. */
  let extent = 0;
  const touched: number[] = [];

  const grow = (need: number) => {
    if (need <= alive.length) return;
    const cap = Math.max(need, alive.length * 2, 256);
    const l = new Float64Array(cap);
    l.set(lens);
    lens = l;
    const a = new Uint8Array(cap);
    a.set(alive);
    alive = a;
    acc = new Float64Array(cap);
  };

  return {
    add(slot, text) {
      grow(slot + 1);
      if (alive[slot]) throw new Error(`text index slot ${slot} is live`);
      extent = Math.max(extent, slot + 1);
      const counts = termCounts(text);
      let len = 0;
      for (const [term, tf] of counts) {
        len += tf;
        let p = dict.get(term);
        if (!p) {
          p = { slots: new Int32Array(4), tfs: new Uint16Array(4), n: 0, df: 0 };
          postingBytes += 4 * 6;
          dict.set(term, p);
          dictChars += term.length;
        }
        if (p.n === p.slots.length) {
          const s = new Int32Array(p.n * 2);
          s.set(p.slots);
          p.slots = s;
          const f = new Uint16Array(p.n * 2);
          f.set(p.tfs);
          p.tfs = f;
          postingBytes += p.n * 6;
        }
        p.slots[p.n] = slot;
        p.tfs[p.n] = tf;
        p.n++;
        p.df++;
        postings++;
      }
      lens[slot] = len;
      alive[slot] = 1;
      live++;
      totalLen += len;
    },

    remove(slot, text) {
      if (!alive[slot]) return;
      alive[slot] = 0;
      live--;
      totalLen -= lens[slot];
      for (const term of termCounts(text).keys()) {
        const p = dict.get(term);
        if (p) p.df--;
        dead++;
      }
    },

    search(query, limit) {
      if (live === 0 || limit <= 0) return [];
      const avgLen = totalLen / live;
      for (const term of new Set(bm25Terms(query))) {
        const p = dict.get(term);
        if (!p || p.df === 0) continue;
        const idf = bm25Idf(live, p.df);
        const { slots, tfs, n } = p;
        for (let i = 0; i < n; i++) {
          const s = slots[i];
          if (!alive[s]) continue;
          if (acc[s] === 0) touched.push(s);
          acc[s] += bm25TermScore(idf, tfs[i], lens[s], avgLen);
        }
      }
      // Top `limit` of the touched slots: a sorted window, since limit is small next to the matches.
      const best: { slot: number; score: number }[] = [];
      const before = (a: { slot: number; score: number }, b: { slot: number; score: number }) =>
        b.score - a.score || a.slot - b.slot;
      for (const slot of touched) {
        const score = acc[slot];
        acc[slot] = 0;
        if (best.length === limit && before({ slot, score }, best[limit - 1]) >= 0) continue;
        let i = best.length < limit ? best.length : limit - 1;
        if (best.length < limit) best.push({ slot, score });
        while (i > 0 && before({ slot, score }, best[i - 1]) < 0) {
          best[i] = best[i - 1];
          i--;
        }
        best[i] = { slot, score };
      }
      touched.length = 0;
      return best;
    },

    purge() {
      if (dead === 0) return;
      const next = new Map<string, Postings>();
      dictChars = 0;
      postings = 0;
      postingBytes = 0;
      for (const [term, p] of dict) {
        if (p.df === 0) continue;
        let w = 0;
        for (let i = 0; i < p.n; i++) {
          if (!alive[p.slots[i]]) continue;
          p.slots[w] = p.slots[i];
          p.tfs[w] = p.tfs[i];
          w++;
        }
        p.n = w;
        if (p.slots.length > 2 * w + 4) {
          p.slots = p.slots.slice(0, w + 4);
          p.tfs = p.tfs.slice(0, w + 4);
        }
        postings += w;
        postingBytes += p.slots.length * 6;
        next.set(term, p);
        dictChars += term.length;
      }
      dict = next;
      dead = 0;
    },

    stats() {
      return {
        slots: live,
        terms: dict.size,
        postings,
        deadPostings: dead,
        bytes: postingBytes + dictChars * 2 + dict.size * TERM_OVERHEAD_BYTES + extent * SLOT_BYTES,
      };
    },

    clear() {
      dict = new Map();
      dictChars = 0;
      lens = new Float64Array(0);
      alive = new Uint8Array(0);
      acc = new Float64Array(0);
      live = 0;
      totalLen = 0;
      postings = 0;
      postingBytes = 0;
      dead = 0;
      extent = 0;
    },
  };
}
