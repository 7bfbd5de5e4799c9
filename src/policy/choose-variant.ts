// The quantization policy: which stored variant serves a request, from complexity, memory and what is loaded.
import { QUANTIZATIONS, type Quantization } from "../config/keys.ts";
import { levelOf, type ComplexityLevel } from "./analyze-complexity.ts";

/** Why a variant was chosen (the label of reflexia_quantization_decisions_total{reason}). */
export const REASONS = [
  "pinned",
  "adaptive_disabled",
  "complexity_low",
  "complexity_medium",
  "complexity_high",
  "hysteresis_hold",
  "prefer_loaded",
  "memory_pressure_downgrade",
  "gpu_offload_downgrade",
  "quality_floor",
  "nearest_available",
  "only_available",
  "no_variant_fits",
  "not_available",
] as const;
export type Reason = (typeof REASONS)[number];

/**
 * What the caller must do: serve from a loaded variant, load it, evict idle variants then load it, wait for busy
 * variants to finish (the scheduler evicts them once idle) then load it, or refuse.
 */
export const ACTIONS = ["use", "load", "evict_then_load", "wait_then_load", "refuse"] as const;
export type Action = (typeof ACTIONS)[number];

export const REFUSE_CODES = ["RFX_MEMORY_BUDGET", "RFX_MODEL_NOT_FOUND"] as const;
export type RefuseCode = (typeof REFUSE_CODES)[number];

/**
 * Preferred variants per complexity level, best first; the first one in the store is the target, and when none
 * is stored the nearest stored variant by rank to the first one is. Low prompts lose nothing visible at 4 bits;
 * medium ones gain from k-quants; high ones (code, math, long analysis) are where 8-bit pays for its memory. f16
 * is only a fallback: it doubles q8_0's memory for a gain rarely visible in output.
 */
export const DEFAULT_LEVEL_TARGETS: Readonly<Record<ComplexityLevel, readonly Quantization[]>> = Object.freeze({
  low: Object.freeze(["q4_0", "q4_k_m"] as Quantization[]),
  medium: Object.freeze(["q5_k_m", "q4_k_m"] as Quantization[]),
  high: Object.freeze(["q8_0", "f16"] as Quantization[]),
});

/** The level a variant stands for when only the previous quantization (not its level) is known. */
const LEVEL_OF_QUANT: Readonly<Record<Quantization, ComplexityLevel>> = {
  q4_0: "low",
  q4_k_m: "medium",
  q5_k_m: "medium",
  q8_0: "high",
  f16: "high",
};

export interface ChooseVariantInput {
  complexity: { score: number; level: ComplexityLevel };
  /** Memory used / budget now (0..1, above 1 when over budget). */
  pressure: number;
  /** Variants of this model present in the store. */
  available: readonly Quantization[];
  /** Variants of this model loaded now (they cost no new memory). */
  loaded: readonly Quantization[];
  /** The variant chosen for this model's previous request (hysteresis). */
  previous?: Quantization;
  /** The complexity level behind `previous`; derived from `previous` when absent (q4_0 low, k-quants medium, q8_0/f16 high). */
  previousLevel?: ComplexityLevel;
  /** Memory each variant needs when loaded at the configured context (weights + KV cache + buffers). */
  estimateBytes: Partial<Record<Quantization, number>>;
  /** Budget minus current use: what a load may take without evicting. */
  freeBudgetBytes: number;
  /** Memory that evicting idle variants (of any model) would free. Defaults to 0. */
  evictableBytes?: number;
  /**
   * Memory that loaded variants busy now (of any model, with requests running or queued) hold: not freeable now, but
   * the scheduler waits for them to go idle and evicts them for a load that needs it. Defaults to 0.
   */
  busyBytes?: number;
  /** Margin a score must pass a threshold by before the level changes (adaptive.hysteresis). */
  hysteresis: number;
  /** Scores separating low|medium and medium|high (adaptive.thresholds). */
  thresholds: readonly [number, number];
  /** adaptive.enabled; false always targets defaultQuantization. */
  adaptive: boolean;
  /** models.default_quantization. */
  defaultQuantization: Quantization;
  /** The request named model:tag; no other variant may serve it. */
  pinned?: Quantization;
  /**
   * With a GPU: the layers each stored variant would get on it now (VRAM held by idle variants counted as free) out
   * of its n_layer + 1. Absent on the CPU. A variant that runs whole on the GPU decodes several times faster than a
   * larger one split with the CPU (the CPU part bounds every token), so the choice steps down to one that fits whole.
   */
  gpuLayers?: Partial<Record<Quantization, { gpuLayers: number; totalLayers: number }>>;
  /** Measured quality per stored variant (the quality benchmark, stored with the model). Defaults to none. */
  quality?: Partial<Record<Quantization, { top1Agreement: number; reference: string }>>;
  /** Least top-1 agreement per level (adaptive.quality_floor as low, medium, high). Defaults to no floor. */
  qualityFloor?: readonly [number, number, number];
}

export interface ChooseVariantOptions {
  /** Preferred variants per level. Defaults to DEFAULT_LEVEL_TARGETS. */
  levelTargets?: Readonly<Record<ComplexityLevel, readonly Quantization[]>>;
  /**
   * Pressures at which a target that must be loaded is lowered by one and by two ranks, keeping headroom for KV
   * growth and other models before the hard budget is reached. Defaults to [0.75, 0.9].
   */
  pressureDowngrade?: readonly [number, number];
  /** A loaded variant within this many ranks of the target serves instead of loading the target. Defaults to 1. */
  preferLoadedMaxGap?: number;
}

export interface VariantDecision {
  /** The variant to serve with, or, with action "refuse", the one that was refused. */
  quantization: Quantization;
  /** Why this variant. */
  reason: Reason;
  action: Action;
  refuseCode?: RefuseCode;
  /** The level after hysteresis (what the target was computed from). */
  level: ComplexityLevel;
  /** The variant complexity alone asked for, before memory and loaded-variant adjustments. */
  target: Quantization;
  /** Human-readable explanation for logs, the response and the X-Reflexia-Quantization header. */
  detail: string;
  /**
   * Whether the memory figures (pressure, free budget, evictable bytes) could have changed the choice: false when
   * a loaded variant is used because it is the target, pinned, the default or a loaded neighbour. The response cache
   * relies on it to answer a hit without a fresh memory sample (src/services/inference-service.ts).
   */
  dependsOnMemory: boolean;
}

export const rankOf = (q: Quantization): number => QUANTIZATIONS.indexOf(q);
const byRank = (a: Quantization, b: Quantization): number => rankOf(a) - rankOf(b);
const MiB = (n: number): string => (Number.isFinite(n) ? `${Math.round(n / 2 ** 20)} MiB` : "unknown size");

/**
 * The level to act on, given the previous one: the level only moves once the score is past the threshold by
 * the hysteresis margin, so scores oscillating around a threshold keep the previous variant.
 */
export function levelWithHysteresis(
  score: number,
  thresholds: readonly [number, number],
  hysteresis: number,
  previous?: ComplexityLevel,
): ComplexityLevel {
  const raw = levelOf(score, thresholds);
  if (previous === undefined || hysteresis <= 0) return raw;
  const order = ["low", "medium", "high"] as const;
  const up = levelOf(score - hysteresis, thresholds);
  const down = levelOf(score + hysteresis, thresholds);
  if (order.indexOf(up) > order.indexOf(previous)) return up;
  if (order.indexOf(down) < order.indexOf(previous)) return down;
  return previous;
}

/** The stored variant nearest in rank to `wanted`; ties go to the smaller one (less memory). */
function nearest(wanted: Quantization, stored: readonly Quantization[]): Quantization {
  let best = stored[0]!;
  for (const q of stored) {
    const d = Math.abs(rankOf(q) - rankOf(wanted));
    const bd = Math.abs(rankOf(best) - rankOf(wanted));
    if (d < bd || (d === bd && rankOf(q) < rankOf(best))) best = q;
  }
  return best;
}

/**
 * Chooses the variant for one request. Pure: the caller supplies memory figures and what is loaded, carries out
 * the action, and passes the choice (and its level) back as the next call's `previous`/`previousLevel`.
 * Order of decisions:
 * 1. pinned → exactly that variant, or a refusal (RFX_MODEL_NOT_FOUND when not stored, RFX_MEMORY_BUDGET when it
 *    cannot fit even once busy variants finish and every other variant is evicted); no substitute is ever served;
 * 2. adaptive off → defaultQuantization (the nearest stored one if it is not stored), loaded, loaded after
 *    eviction, loaded after busy variants finish, or refused; no other substitute;
 * 3. adaptive: the level (held by hysteresis while the score is within the margin of a threshold) gives the
 *    target, the first of its preferred variants in the store;
 * 4. a loaded target is used; else a loaded variant within preferLoadedMaxGap ranks of it (prefer_loaded);
 * 5. memory pressure lowers a target that would have to be loaded by one or two ranks;
 * 6. with a GPU (input.gpuLayers), a start variant that would be split between GPU and CPU gives way to the
 *    largest variant below it that runs whole on the GPU and fits RAM (gpu_offload_downgrade);
 * 7. from there downward, the first variant that is loaded or fits the free budget; then the first that fits
 *    once idle variants are evicted; then any loaded variant, even a larger one; then the first that fits once
 *    busy variants finish (the request waits for them, as Ollama queues it); else RFX_MEMORY_BUDGET.
 * A variant without a size estimate never counts as fitting unless it is loaded.
 */
export function chooseVariant(input: ChooseVariantInput, options: ChooseVariantOptions = {}): VariantDecision {
  const levelTargets = options.levelTargets ?? DEFAULT_LEVEL_TARGETS;
  const [pressureOne, pressureTwo] = options.pressureDowngrade ?? [0.75, 0.9];
  const maxGap = options.preferLoadedMaxGap ?? 1;
  const known = (q: unknown): q is Quantization => (QUANTIZATIONS as readonly unknown[]).includes(q);
  const stored = [...new Set(input.available.filter(known))].sort(byRank);
  const loaded = new Set(input.loaded.filter((q) => known(q) && stored.includes(q)));
  const free = Math.max(0, input.freeBudgetBytes);
  const evictable = Math.max(0, input.evictableBytes ?? 0);
  const busy = Math.max(0, input.busyBytes ?? 0);
  const need = (q: Quantization): number => (loaded.has(q) ? 0 : (input.estimateBytes[q] ?? Number.POSITIVE_INFINITY));
  const fitsNow = (q: Quantization): boolean => need(q) <= free;
  const fitsEvicting = (q: Quantization): boolean => need(q) <= free + evictable;
  // Once busy variants finish they are idle and the scheduler evicts them too: more than this can never be freed.
  const fitsAfterBusy = (q: Quantization): boolean => need(q) <= free + evictable + busy;
  const actionFor = (q: Quantization): Action =>
    loaded.has(q) ? "use" : fitsNow(q) ? "load" : fitsEvicting(q) ? "evict_then_load" : "wait_then_load";
  const budgetNote = `free budget ${MiB(free)}${evictable > 0 ? ` + ${MiB(evictable)} evictable` : ""}${busy > 0 ? ` + ${MiB(busy)} held by busy variants` : ""}, pressure ${input.pressure.toFixed(2)}`;
  const actionNote = (q: Quantization, action: Action): string =>
    action === "use"
      ? `${q} is loaded`
      : need(q) === 0
        ? `${q} needs no local memory` // a remote variant
        : action === "wait_then_load"
          ? `${q} needs ${MiB(need(q))}, more than is free after evicting idle variants: it waits for busy variants to finish; ${budgetNote}`
          : `${q} needs ${MiB(need(q))}${action === "evict_then_load" ? " after evicting idle variants" : ""}; ${budgetNote}`;

  // The exact-variant paths (pinned, adaptive off): that variant or a refusal.
  const exact = (q: Quantization, reason: Reason, level: ComplexityLevel, why: string): VariantDecision => {
    const base = { quantization: q, reason, level, target: q, dependsOnMemory: !loaded.has(q) };
    if (!stored.includes(q)) {
      return {
        ...base,
        action: "refuse",
        refuseCode: "RFX_MODEL_NOT_FOUND",
        detail: `${why}; ${q} is not in the store`,
      };
    }
    if (fitsAfterBusy(q)) {
      const action = actionFor(q);
      return { ...base, action, detail: `${why}; ${actionNote(q, action)}` };
    }
    return {
      ...base,
      action: "refuse",
      refuseCode: "RFX_MEMORY_BUDGET",
      detail: `${why}; ${q} needs ${MiB(need(q))}, more than can be made free within the budget (${budgetNote})`,
    };
  };

  if (input.pinned !== undefined) {
    return exact(input.pinned, "pinned", input.complexity.level, `pinned ${input.pinned}`);
  }
  if (stored.length === 0) {
    return {
      quantization: input.defaultQuantization,
      reason: "not_available",
      action: "refuse",
      refuseCode: "RFX_MODEL_NOT_FOUND",
      level: input.complexity.level,
      target: input.defaultQuantization,
      detail: "the model has no stored variant",
      dependsOnMemory: false,
    };
  }
  if (!input.adaptive) {
    const d = input.defaultQuantization;
    if (stored.includes(d))
      return exact(d, "adaptive_disabled", input.complexity.level, `adaptive quantization off; default ${d}`);
    const n = nearest(d, stored);
    return exact(
      n,
      "nearest_available",
      input.complexity.level,
      `adaptive quantization off; default ${d} not stored, nearest is ${n}`,
    );
  }

  // Target from the level, held by hysteresis.
  const previousLevel =
    input.previousLevel ?? (input.previous !== undefined ? LEVEL_OF_QUANT[input.previous] : undefined);
  const rawLevel = levelOf(input.complexity.score, input.thresholds);
  const level = levelWithHysteresis(input.complexity.score, input.thresholds, input.hysteresis, previousLevel);
  const preferred = levelTargets[level].find((q) => stored.includes(q));
  const wanted = levelTargets[level][0] ?? input.defaultQuantization;
  const staticTarget = preferred ?? nearest(wanted, stored);
  // Measured quality can raise the target: a variant measured below the level's floor gives way to the next more
  // precise stored one measured at or above it (none such: the static choice stands).
  const floor = input.qualityFloor?.[["low", "medium", "high"].indexOf(level)] ?? 0;
  const measured = (q: Quantization) => input.quality?.[q];
  const agreement = (q: Quantization) =>
    measured(q) ? `${q}: top-1 agreement ${measured(q)!.top1Agreement.toFixed(2)} vs ${measured(q)!.reference}` : "";
  const belowFloor = floor > 0 && measured(staticTarget) !== undefined && measured(staticTarget)!.top1Agreement < floor;
  const raised = belowFloor
    ? stored.find((q) => rankOf(q) > rankOf(staticTarget) && (measured(q)?.top1Agreement ?? -1) >= floor)
    : undefined;
  const target = raised ?? staticTarget;
  const score = input.complexity.score.toFixed(3);
  let reason: Reason;
  let why: string;
  if (raised !== undefined) {
    reason = "quality_floor";
    why = `complexity ${level} (score ${score}) → ${staticTarget}, but ${agreement(staticTarget)} is below the ${level} floor ${floor}; ${agreement(raised)}`;
  } else if (stored.length === 1) {
    reason = "only_available";
    why = `${target} is the only stored variant`;
  } else if (level !== rawLevel) {
    reason = "hysteresis_hold";
    // Past one threshold but within the margin of the next, the level moves one step only (high → medium on a
    // score that reads low): that is not a hold, and the detail must not call it one.
    why =
      level === previousLevel
        ? `score ${score} reads ${rawLevel} but is within ${input.hysteresis} of the threshold; holding ${level} → ${target}`
        : `score ${score} reads ${rawLevel} but is within ${input.hysteresis} of the threshold; moving ${previousLevel} → ${level} only → ${target}`;
  } else {
    reason = preferred ? (`complexity_${level}` as Reason) : "nearest_available";
    why = `complexity ${level} (score ${score}) → ${target}${preferred ? "" : ` (nearest stored to ${wanted})`}`;
  }
  if (raised === undefined && measured(target)) why += ` (${agreement(target)})`;

  // Loaded: the target itself, or a neighbour close enough that loading the target is not worth its memory.
  if (loaded.has(target)) {
    return {
      quantization: target,
      reason,
      action: "use",
      level,
      target,
      detail: `${why}; ${actionNote(target, "use")}`,
      dependsOnMemory: false,
    };
  }
  if (maxGap > 0) {
    const near = [...loaded]
      .filter((q) => Math.abs(rankOf(q) - rankOf(target)) <= maxGap)
      // The closer first; between equally close ones the larger (better output, costs nothing now).
      .sort(
        (a, b) => Math.abs(rankOf(a) - rankOf(target)) - Math.abs(rankOf(b) - rankOf(target)) || rankOf(b) - rankOf(a),
      )[0];
    if (near !== undefined) {
      return {
        quantization: near,
        reason: "prefer_loaded",
        action: "use",
        level,
        target,
        detail: `${why}; ${near} is loaded and within ${maxGap} rank of ${target}, so ${target} is not loaded`,
        dependsOnMemory: false,
      };
    }
  }

  // Pressure lowers a target that would have to be loaded, keeping headroom before the hard budget.
  const atOrBelow = stored.filter((q) => rankOf(q) <= rankOf(target));
  // A target that needs no local memory (a remote variant) frees nothing by being lowered: pressure leaves it.
  const steps = need(target) === 0 ? 0 : input.pressure >= pressureTwo ? 2 : input.pressure >= pressureOne ? 1 : 0;
  const start = atOrBelow[Math.max(0, atOrBelow.length - 1 - steps)]!;
  const pressureNote = start !== target ? `; pressure ${input.pressure.toFixed(2)} lowers ${target} to ${start}` : "";

  const decide = (q: Quantization, action: Action): VariantDecision => {
    const fitNote = q !== start ? `; ${start} does not fit (needs ${MiB(need(start))})` : "";
    const r: Reason =
      q === target
        ? reason
        : loaded.has(q) && rankOf(q) > rankOf(target)
          ? "prefer_loaded"
          : "memory_pressure_downgrade";
    return {
      quantization: q,
      reason: r,
      action,
      level,
      target,
      detail: `${why}${pressureNote}${fitNote}; ${actionNote(q, action)}`,
      dependsOnMemory: true,
    };
  };
  const candidates = stored.filter((q) => rankOf(q) <= rankOf(start)).reverse();
  const gpu = input.gpuLayers;
  const whole = (q: Quantization): boolean => gpu?.[q] !== undefined && gpu[q]!.gpuLayers >= gpu[q]!.totalLayers;
  if (gpu && gpu[start] && !whole(start)) {
    const full = candidates.find((q) => whole(q) && (loaded.has(q) || fitsEvicting(q)));
    if (full !== undefined) {
      const s = gpu[start]!;
      const action = actionFor(full);
      return {
        quantization: full,
        reason: "gpu_offload_downgrade",
        action,
        level,
        target,
        detail: `${why}${pressureNote}; ${start} would run ${s.gpuLayers}/${s.totalLayers} layers on the GPU, ${full} runs whole on it; ${actionNote(full, action)}`,
        dependsOnMemory: true,
      };
    }
  }
  const now = candidates.find((q) => loaded.has(q) || fitsNow(q));
  if (now !== undefined) return decide(now, actionFor(now));
  const evicting = candidates.find(fitsEvicting);
  if (evicting !== undefined) return decide(evicting, "evict_then_load");
  // A larger variant that is already loaded serves better than a refusal.
  const anyLoaded = stored.find((q) => loaded.has(q));
  if (anyLoaded !== undefined) return decide(anyLoaded, "use");
  // Only busy variants stand in the way: the scheduler waits for them to finish, then evicts them and loads.
  const waiting = candidates.find(fitsAfterBusy);
  if (waiting !== undefined) return decide(waiting, "wait_then_load");

  const smallest = stored[0]!;
  return {
    quantization: smallest,
    reason: "no_variant_fits",
    action: "refuse",
    refuseCode: "RFX_MEMORY_BUDGET",
    level,
    target,
    detail: `${why}; no stored variant fits: the smallest, ${smallest}, needs ${MiB(need(smallest))} (${budgetNote})`,
    dependsOnMemory: true,
  };
}
