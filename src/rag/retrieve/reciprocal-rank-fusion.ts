// Fuses ranked hit lists (vector and full-text) by reciprocal rank: score = Σ 1 / (k + rank).
import type { SearchHit } from "../store/vector-store.ts";

/** A fused hit keeps each list's own score for display and debugging. */
export interface FusedHit extends SearchHit {
  /** Score in each input list where the chunk appeared, by list name. */
  scores: Record<string, number>;
}

/** k = 60 as in Cormack et al. (2009): damps the head so agreement between lists beats one list's top rank. */
export const RRF_K = 60;

export function reciprocalRankFusion(
  lists: Record<string, SearchHit[]>,
  options: { k?: number; limit?: number } = {},
): FusedHit[] {
  const k = options.k ?? RRF_K;
  const fused = new Map<string, FusedHit>();
  for (const [name, hits] of Object.entries(lists)) {
    hits.forEach((hit, i) => {
      const add = 1 / (k + i + 1);
      const prev = fused.get(hit.chunk.id);
      if (prev) {
        prev.score += add;
        prev.scores[name] = hit.score;
      } else {
        fused.set(hit.chunk.id, {
          chunk: hit.chunk,
          score: add,
          scores: { [name]: hit.score },
          ...(hit.distance !== undefined ? { distance: hit.distance } : {}),
        });
      }
    });
  }
  const out = [...fused.values()].sort((a, b) => b.score - a.score || (a.chunk.id < b.chunk.id ? -1 : 1));
  return options.limit === undefined ? out : out.slice(0, options.limit);
}
