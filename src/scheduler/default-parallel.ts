// The default number of parallel sequences per loaded variant, chosen from the CPUs available.

/**
 * Sequences decoded together in one batch. Batching amortises the per-token fixed cost, so more sequences than
 * cores pays off up to a point: on 2 cores a 206 M q4_0 model reached 48 → 141 tok/s aggregate from 1 → 4
 * sequences but fell to 117 at 8 (ARCHITECTURE.md). Hence two per core, at least 4 and at most 16.
 */
export function defaultParallel(cpus: number): number {
  const n = Number.isFinite(cpus) && cpus > 0 ? Math.floor(cpus) : 1;
  return Math.min(16, Math.max(4, n * 2));
}
