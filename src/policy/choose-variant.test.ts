import { describe, expect, it } from "vitest";
import { QUANTIZATIONS, type Quantization } from "../config/index.ts";
import { levelOf, type ComplexityLevel } from "./analyze-complexity.ts";
import {
  chooseVariant,
  levelWithHysteresis,
  REASONS,
  type ChooseVariantInput,
  type VariantDecision,
} from "./choose-variant.ts";

const MiB = 2 ** 20;
const ALL: Quantization[] = [...QUANTIZATIONS];
const SIZES: Record<Quantization, number> = {
  q4_0: 100 * MiB,
  q4_k_m: 120 * MiB,
  q5_k_m: 140 * MiB,
  q8_0: 200 * MiB,
  f16: 380 * MiB,
};

const at = (score: number) => ({ score, level: levelOf(score, [0.3, 0.6]) });

function input(over: Partial<ChooseVariantInput> = {}): ChooseVariantInput {
  return {
    complexity: at(0.1),
    pressure: 0.2,
    available: ALL,
    loaded: [],
    estimateBytes: SIZES,
    freeBudgetBytes: 10 * 1024 * MiB,
    evictableBytes: 0,
    hysteresis: 0.08,
    thresholds: [0.3, 0.6],
    adaptive: true,
    defaultQuantization: "q4_0",
    ...over,
  };
}

type Row = [string, Partial<ChooseVariantInput>, Partial<VariantDecision>];

const rows: Row[] = [
  // complexity → target
  [
    "low → q4_0",
    { complexity: at(0.1) },
    { quantization: "q4_0", reason: "complexity_low", action: "load", level: "low" },
  ],
  [
    "medium → q5_k_m",
    { complexity: at(0.45) },
    { quantization: "q5_k_m", reason: "complexity_medium", action: "load" },
  ],
  ["high → q8_0", { complexity: at(0.8) }, { quantization: "q8_0", reason: "complexity_high", action: "load" }],
  [
    "medium without q5_k_m → q4_k_m",
    { complexity: at(0.45), available: ["q4_0", "q4_k_m", "q8_0"] },
    { quantization: "q4_k_m", reason: "complexity_medium" },
  ],
  [
    "high without q8_0 → f16",
    { complexity: at(0.9), available: ["q4_0", "f16"] },
    { quantization: "f16", reason: "complexity_high" },
  ],
  [
    "low without q4_0/q4_k_m → nearest (smaller on ties)",
    { complexity: at(0.1), available: ["q5_k_m", "f16"] },
    { quantization: "q5_k_m", reason: "nearest_available" },
  ],
  [
    "medium with only q4_0 and q8_0 → nearest to q5_k_m",
    { complexity: at(0.45), available: ["q4_0", "q8_0"] },
    { quantization: "q8_0", reason: "nearest_available" },
  ],
  [
    "a single stored variant serves everything",
    { complexity: at(0.95), available: ["q4_0"] },
    { quantization: "q4_0", reason: "only_available", action: "load" },
  ],
  [
    "unknown names in the store are ignored",
    { complexity: at(0.8), available: ["q8_0", "q3_k_s" as Quantization] },
    { quantization: "q8_0", reason: "only_available" },
  ],
  // loaded variants
  [
    "loaded target is used",
    { complexity: at(0.8), loaded: ["q8_0"] },
    { quantization: "q8_0", reason: "complexity_high", action: "use" },
  ],
  [
    "adjacent loaded variant below the target is preferred",
    { complexity: at(0.8), loaded: ["q5_k_m"] },
    { quantization: "q5_k_m", reason: "prefer_loaded", action: "use", target: "q8_0" },
  ],
  [
    "adjacent loaded variant above the target is preferred",
    { complexity: at(0.1), loaded: ["q4_k_m"] },
    { quantization: "q4_k_m", reason: "prefer_loaded", action: "use", target: "q4_0" },
  ],
  [
    "between two adjacent loaded variants the larger wins",
    { complexity: at(0.8), loaded: ["q5_k_m", "f16"] },
    { quantization: "f16", reason: "prefer_loaded" },
  ],
  [
    "a loaded variant two ranks away does not stop the load",
    { complexity: at(0.1), loaded: ["q5_k_m"] },
    { quantization: "q4_0", reason: "complexity_low", action: "load" },
  ],
  [
    "loaded variants of other quantizations not stored are ignored",
    { complexity: at(0.8), available: ["q4_0", "q8_0"], loaded: ["q5_k_m"] },
    { quantization: "q8_0", action: "load" },
  ],
  // pressure
  [
    "pressure ≥ 0.75 lowers a target to load by one rank",
    { complexity: at(0.8), pressure: 0.8 },
    { quantization: "q5_k_m", reason: "memory_pressure_downgrade", action: "load", target: "q8_0" },
  ],
  [
    "pressure ≥ 0.9 lowers it by two ranks",
    { complexity: at(0.8), pressure: 0.95 },
    { quantization: "q4_k_m", reason: "memory_pressure_downgrade" },
  ],
  [
    "pressure never goes below the smallest stored",
    { complexity: at(0.45), pressure: 0.99, available: ["q4_k_m", "q5_k_m"] },
    { quantization: "q4_k_m", reason: "memory_pressure_downgrade" },
  ],
  [
    "pressure does not lower a target that needs no local memory (a remote variant)",
    {
      complexity: at(0.8),
      pressure: 0.95,
      available: ["q4_0", "q4_k_m", "f16"],
      estimateBytes: { ...SIZES, f16: 0 },
    },
    {
      quantization: "f16",
      reason: "complexity_high",
      target: "f16",
      detail: "complexity high (score 0.800) → f16; f16 needs no local memory",
    },
  ],
  [
    "pressure does not move a loaded target",
    { complexity: at(0.8), pressure: 0.95, loaded: ["q8_0"] },
    { quantization: "q8_0", action: "use", reason: "complexity_high" },
  ],
  [
    "pressure below 0.75 changes nothing",
    { complexity: at(0.8), pressure: 0.74 },
    { quantization: "q8_0", reason: "complexity_high" },
  ],
  // hard fit
  [
    "a target that does not fit is downgraded until one fits",
    { complexity: at(0.8), freeBudgetBytes: 150 * MiB },
    { quantization: "q5_k_m", reason: "memory_pressure_downgrade", action: "load" },
  ],
  [
    "only the smallest fits → the smallest",
    { complexity: at(0.99), freeBudgetBytes: 110 * MiB },
    { quantization: "q4_0", reason: "memory_pressure_downgrade", action: "load" },
  ],
  [
    "downgrade stops at a loaded variant before evicting",
    { complexity: at(0.8), freeBudgetBytes: 10 * MiB, evictableBytes: 500 * MiB, loaded: ["q4_0"] },
    { quantization: "q4_0", action: "use", reason: "memory_pressure_downgrade" },
  ],
  [
    "nothing fits now but the target fits after eviction",
    { complexity: at(0.8), freeBudgetBytes: 50 * MiB, evictableBytes: 200 * MiB },
    { quantization: "q8_0", action: "evict_then_load", reason: "complexity_high" },
  ],
  [
    "after eviction only a smaller one fits",
    { complexity: at(0.8), freeBudgetBytes: 50 * MiB, evictableBytes: 80 * MiB },
    { quantization: "q4_k_m", action: "evict_then_load", reason: "memory_pressure_downgrade" },
  ],
  [
    "a larger loaded variant serves rather than a refusal",
    { complexity: at(0.1), freeBudgetBytes: 0, loaded: ["f16"] },
    { quantization: "f16", action: "use", reason: "prefer_loaded" },
  ],
  [
    "nothing fits even after eviction → refuse",
    { complexity: at(0.8), freeBudgetBytes: 50 * MiB, evictableBytes: 40 * MiB },
    { quantization: "q4_0", action: "refuse", refuseCode: "RFX_MEMORY_BUDGET", reason: "no_variant_fits" },
  ],
  // busy variants: their memory is freed once they finish, so a load that needs it waits instead of a refusal
  [
    "nothing fits after eviction but the target fits once busy variants finish → wait for them",
    { complexity: at(0.8), freeBudgetBytes: 50 * MiB, evictableBytes: 40 * MiB, busyBytes: 200 * MiB },
    { quantization: "q8_0", action: "wait_then_load", reason: "complexity_high", dependsOnMemory: true },
  ],
  [
    "under pressure the lowered target waits for busy variants",
    { complexity: at(0.8), pressure: 0.95, freeBudgetBytes: 50 * MiB, busyBytes: 100 * MiB },
    { quantization: "q4_k_m", action: "wait_then_load", reason: "memory_pressure_downgrade", target: "q8_0" },
  ],
  [
    "only a smaller variant fits once busy variants finish → that one waits",
    { complexity: at(0.8), freeBudgetBytes: 50 * MiB, evictableBytes: 40 * MiB, busyBytes: 40 * MiB },
    { quantization: "q4_k_m", action: "wait_then_load", reason: "memory_pressure_downgrade" },
  ],
  [
    "a smaller variant that fits now is preferred to waiting for the target",
    { complexity: at(0.8), freeBudgetBytes: 150 * MiB, busyBytes: 1000 * MiB },
    { quantization: "q5_k_m", action: "load", reason: "memory_pressure_downgrade" },
  ],
  [
    "a smaller variant that fits after evicting idle ones is preferred to waiting for the target",
    { complexity: at(0.8), freeBudgetBytes: 50 * MiB, evictableBytes: 80 * MiB, busyBytes: 1000 * MiB },
    { quantization: "q4_k_m", action: "evict_then_load", reason: "memory_pressure_downgrade" },
  ],
  [
    "a loaded variant serves rather than waiting to load another",
    { complexity: at(0.1), freeBudgetBytes: 0, loaded: ["f16"], busyBytes: 380 * MiB },
    { quantization: "f16", action: "use", reason: "prefer_loaded" },
  ],
  [
    "nothing fits even once busy variants finish → refuse",
    { complexity: at(0.8), freeBudgetBytes: 50 * MiB, evictableBytes: 40 * MiB, busyBytes: 5 * MiB },
    { quantization: "q4_0", action: "refuse", refuseCode: "RFX_MEMORY_BUDGET", reason: "no_variant_fits" },
  ],
  [
    "a variant without an estimate never counts as fitting",
    { complexity: at(0.8), estimateBytes: { q4_0: SIZES.q4_0, q4_k_m: SIZES.q4_k_m, q5_k_m: SIZES.q5_k_m } },
    { quantization: "q5_k_m", reason: "memory_pressure_downgrade" },
  ],
  [
    "no stored variant at all → not found",
    { available: [] },
    { action: "refuse", refuseCode: "RFX_MODEL_NOT_FOUND", reason: "not_available" },
  ],
  // pinned
  [
    "pinned fits → load it whatever the complexity",
    { pinned: "f16", complexity: at(0.05) },
    { quantization: "f16", reason: "pinned", action: "load" },
  ],
  [
    "pinned loaded → use",
    { pinned: "q8_0", loaded: ["q8_0"] },
    { quantization: "q8_0", reason: "pinned", action: "use" },
  ],
  [
    "pinned ignores pressure and loaded neighbours",
    { pinned: "q8_0", pressure: 0.95, loaded: ["q5_k_m"] },
    { quantization: "q8_0", reason: "pinned", action: "load" },
  ],
  [
    "pinned fits only after eviction",
    { pinned: "q8_0", freeBudgetBytes: 100 * MiB, evictableBytes: 100 * MiB },
    { quantization: "q8_0", action: "evict_then_load" },
  ],
  [
    "pinned that cannot fit is refused, never downgraded",
    { pinned: "f16", freeBudgetBytes: 300 * MiB, evictableBytes: 50 * MiB },
    { quantization: "f16", reason: "pinned", action: "refuse", refuseCode: "RFX_MEMORY_BUDGET" },
  ],
  [
    "pinned that fits only once busy variants finish waits for them (the QA repro: 472 MiB, 123 free + 18 evictable)",
    {
      pinned: "q8_0",
      pressure: 0.97,
      estimateBytes: { ...SIZES, q8_0: 472 * MiB },
      freeBudgetBytes: 123 * MiB,
      evictableBytes: 18 * MiB,
      busyBytes: 350 * MiB,
    },
    {
      quantization: "q8_0",
      reason: "pinned",
      action: "wait_then_load",
      detail:
        "pinned q8_0; q8_0 needs 472 MiB, more than is free after evicting idle variants: it waits for busy variants " +
        "to finish; free budget 123 MiB + 18 MiB evictable + 350 MiB held by busy variants, pressure 0.97",
    },
  ],
  [
    "pinned that cannot fit even once busy variants finish is refused",
    { pinned: "f16", freeBudgetBytes: 300 * MiB, evictableBytes: 50 * MiB, busyBytes: 20 * MiB },
    {
      quantization: "f16",
      reason: "pinned",
      action: "refuse",
      refuseCode: "RFX_MEMORY_BUDGET",
      detail:
        "pinned f16; f16 needs 380 MiB, more than can be made free within the budget (free budget 300 MiB + 50 MiB " +
        "evictable + 20 MiB held by busy variants, pressure 0.20)",
    },
  ],
  [
    "pinned that is not stored is not found",
    { pinned: "q5_k_m", available: ["q4_0", "q8_0"] },
    { quantization: "q5_k_m", action: "refuse", refuseCode: "RFX_MODEL_NOT_FOUND" },
  ],
  // adaptive off
  [
    "adaptive off → default whatever the complexity",
    { adaptive: false, complexity: at(0.95) },
    { quantization: "q4_0", reason: "adaptive_disabled", action: "load" },
  ],
  [
    "adaptive off uses a non-q4 default",
    { adaptive: false, defaultQuantization: "q8_0", complexity: at(0.05) },
    { quantization: "q8_0", reason: "adaptive_disabled" },
  ],
  [
    "adaptive off ignores loaded neighbours and pressure",
    { adaptive: false, defaultQuantization: "q8_0", loaded: ["q5_k_m"], pressure: 0.95 },
    { quantization: "q8_0", reason: "adaptive_disabled", action: "load" },
  ],
  [
    "adaptive off with the default not stored → nearest stored",
    { adaptive: false, defaultQuantization: "q4_k_m", available: ["q4_0", "q8_0"] },
    { quantization: "q4_0", reason: "nearest_available" },
  ],
  [
    "adaptive off with the default over budget → refuse, no downgrade",
    { adaptive: false, defaultQuantization: "q8_0", freeBudgetBytes: 150 * MiB },
    { quantization: "q8_0", action: "refuse", refuseCode: "RFX_MEMORY_BUDGET", reason: "adaptive_disabled" },
  ],
  [
    "adaptive off with the default fitting once busy variants finish → wait, no downgrade",
    { adaptive: false, defaultQuantization: "q8_0", freeBudgetBytes: 150 * MiB, busyBytes: 100 * MiB },
    { quantization: "q8_0", action: "wait_then_load", reason: "adaptive_disabled" },
  ],
];

describe("chooseVariant", () => {
  it.each(rows)("%s", (_name, over, expected) => {
    const d = chooseVariant(input(over));
    expect(d).toMatchObject(expected);
    expect(REASONS).toContain(d.reason);
    expect(d.detail.length).toBeGreaterThan(0);
    if (d.action === "refuse") expect(d.refuseCode).toBeDefined();
    else expect(d.refuseCode).toBeUndefined();
  });

  it("never returns a non-loaded variant that exceeds free + evictable + busy memory (exhaustive sweep)", () => {
    const subsets = (xs: Quantization[]): Quantization[][] =>
      xs.reduce<Quantization[][]>((acc, x) => acc.concat(acc.map((s) => [...s, x])), [[]]);
    let checked = 0;
    for (const available of subsets(ALL).filter((s) => s.length > 0)) {
      for (const loaded of subsets(available).filter((s) => s.length <= 2)) {
        for (const score of [0.05, 0.31, 0.59, 0.61, 0.95]) {
          for (const free of [0, 90, 130, 210, 1000].map((m) => m * MiB)) {
            for (const evictable of [0, 100 * MiB]) {
              for (const pressure of [0.1, 0.95]) {
                const over = {
                  available,
                  loaded,
                  complexity: at(score),
                  freeBudgetBytes: free,
                  evictableBytes: evictable,
                  pressure,
                };
                const withoutBusy = chooseVariant(input(over));
                for (const busy of [0, 150 * MiB, 400 * MiB]) {
                  const d = busy === 0 ? withoutBusy : chooseVariant(input({ ...over, busyBytes: busy }));
                  checked++;
                  // Busy memory only turns refusals into waits: whatever is chosen without it is chosen with it.
                  if (
                    withoutBusy.action !== "refuse" &&
                    `${d.quantization} ${d.action} ${d.reason}` !==
                      `${withoutBusy.quantization} ${withoutBusy.action} ${withoutBusy.reason}`
                  )
                    expect(d).toMatchObject({
                      quantization: withoutBusy.quantization,
                      action: withoutBusy.action,
                      reason: withoutBusy.reason,
                    });
                  if (d.action === "refuse") {
                    // Refusing is only allowed when no stored variant is loaded or fits once busy variants finish.
                    expect(loaded.length).toBe(0);
                    expect(available.every((q) => SIZES[q] > free + evictable + busy)).toBe(true);
                    continue;
                  }
                  expect(available).toContain(d.quantization);
                  if (d.action === "use") expect(loaded).toContain(d.quantization);
                  if (d.action === "load") expect(SIZES[d.quantization]).toBeLessThanOrEqual(free);
                  if (d.action === "evict_then_load") {
                    expect(SIZES[d.quantization]).toBeGreaterThan(free);
                    expect(SIZES[d.quantization]).toBeLessThanOrEqual(free + evictable);
                  }
                  if (d.action === "wait_then_load") {
                    // Waiting only when nothing is loaded and nothing fits now or after evicting idle variants.
                    expect(loaded.length).toBe(0);
                    expect(available.every((q) => SIZES[q] > free + evictable)).toBe(true);
                    expect(SIZES[d.quantization]).toBeLessThanOrEqual(free + evictable + busy);
                    expect(d.detail).toContain("waits for busy variants to finish");
                  }
                }
              }
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(30_000);
  });
});

describe("levelWithHysteresis", () => {
  const t: [number, number] = [0.3, 0.6];
  it.each([
    [0.35, "low", "low"], // above 0.3 but not by 0.08
    [0.38, "low", "medium"],
    [0.7, "low", "high"], // a big jump skips a level
    [0.65, "low", "medium"], // past 0.6 but not 0.68: only as far as the margin allows
    [0.25, "medium", "medium"],
    [0.21, "medium", "low"],
    [0.65, "medium", "medium"],
    [0.69, "medium", "high"],
    [0.55, "high", "high"],
    [0.51, "high", "medium"],
    [0.2, "high", "low"],
    [0.45, undefined, "medium"],
  ] as Array<[number, ComplexityLevel | undefined, ComplexityLevel]>)(
    "score %s after %s → %s",
    (score, prev, expected) => {
      expect(levelWithHysteresis(score, t, 0.08, prev)).toBe(expected);
    },
  );

  it("with zero hysteresis is the plain level", () => {
    for (const s of [0, 0.29, 0.3, 0.59, 0.6, 1]) expect(levelWithHysteresis(s, t, 0, "high")).toBe(levelOf(s, t));
  });
});

describe("hysteresis over a sequence of requests", () => {
  /** Runs requests like a server would: load what is chosen, remember the choice and its level. */
  function simulate(
    scores: number[],
    hysteresis: number,
  ): { chosen: Quantization[]; reasons: string[]; switches: number } {
    let previous: Quantization | undefined;
    let previousLevel: ComplexityLevel | undefined;
    const loaded = new Set<Quantization>();
    const chosen: Quantization[] = [];
    const reasons: string[] = [];
    let switches = 0;
    for (const score of scores) {
      // preferLoadedMaxGap 0 isolates hysteresis from the loaded-variant preference.
      const d = chooseVariant(
        input({ complexity: at(score), previous, previousLevel, loaded: [...loaded], hysteresis }),
        { preferLoadedMaxGap: 0 },
      );
      if (previous !== undefined && d.quantization !== previous) switches++;
      previous = d.quantization;
      previousLevel = d.level;
      loaded.add(d.quantization);
      chosen.push(d.quantization);
      reasons.push(d.reason);
    }
    return { chosen, reasons, switches };
  }

  const oscillating = [0.55, 0.62, 0.58, 0.63, 0.57, 0.61, 0.59, 0.64, 0.56, 0.62];

  it("scores oscillating around a threshold do not flap", () => {
    const r = simulate(oscillating, 0.08);
    expect(r.switches).toBe(0);
    expect(new Set(r.chosen)).toEqual(new Set(["q5_k_m"]));
    expect(r.reasons.filter((x) => x === "hysteresis_hold").length).toBe(5);
  });

  it("without hysteresis the same scores flap (the guard above is what prevents it)", () => {
    expect(simulate(oscillating, 0).switches).toBeGreaterThanOrEqual(8);
  });

  it("a decisive move switches once and then holds", () => {
    const r = simulate([0.45, 0.5, 0.72, 0.58, 0.55, 0.53, 0.5], 0.08);
    expect(r.chosen).toEqual(["q5_k_m", "q5_k_m", "q8_0", "q8_0", "q8_0", "q8_0", "q5_k_m"]);
    expect(r.switches).toBe(2);
  });

  it("the low|medium threshold holds in both directions", () => {
    const r = simulate([0.2, 0.33, 0.27, 0.36, 0.25, 0.4, 0.29, 0.24, 0.21], 0.08);
    expect(r.chosen).toEqual(["q4_0", "q4_0", "q4_0", "q4_0", "q4_0", "q5_k_m", "q5_k_m", "q5_k_m", "q4_0"]);
  });

  it("previousLevel defaults from the previous quantization", () => {
    const held = chooseVariant(input({ complexity: at(0.63), previous: "q5_k_m", loaded: ["q5_k_m"] }));
    expect(held).toMatchObject({ quantization: "q5_k_m", reason: "hysteresis_hold", level: "medium" });
    const moved = chooseVariant(input({ complexity: at(0.7), previous: "q5_k_m", loaded: ["q5_k_m"] }), {
      preferLoadedMaxGap: 0,
    });
    expect(moved).toMatchObject({ quantization: "q8_0", reason: "complexity_high", level: "high" });
  });

  it("a one-step move within the margin of the next threshold is told as a move, not a hold", () => {
    // Thresholds 0.3 / 0.6, margin 0.08: 0.25 reads low, yet 0.25 + 0.08 is medium, so high steps down to medium.
    const r = chooseVariant(input({ complexity: at(0.25), previous: "q8_0", loaded: ["q8_0"] }), {
      preferLoadedMaxGap: 0,
    });
    expect(r).toMatchObject({ level: "medium", reason: "hysteresis_hold" });
    expect(r.detail).toContain("moving high → medium only");
    expect(r.detail).not.toContain("holding");
  });
});

describe("chooseVariant with a GPU", () => {
  // 33 layers; f16 and q8_0 only partly fit the VRAM left, the 4/5-bit variants fit whole.
  const gpuLayers = {
    q4_0: { gpuLayers: 33, totalLayers: 33 },
    q4_k_m: { gpuLayers: 33, totalLayers: 33 },
    q5_k_m: { gpuLayers: 33, totalLayers: 33 },
    q8_0: { gpuLayers: 20, totalLayers: 33 },
    f16: { gpuLayers: 9, totalLayers: 33 },
  };

  it("steps a target that would be split with the CPU down to the largest variant that runs whole on the GPU", () => {
    const d = chooseVariant(input({ complexity: at(0.8), gpuLayers }));
    expect(d).toMatchObject({
      quantization: "q5_k_m",
      reason: "gpu_offload_downgrade",
      action: "load",
      target: "q8_0",
      level: "high",
    });
    expect(d.detail).toMatch(/q8_0 would run 20\/33 layers on the GPU, q5_k_m runs whole on it/);
  });

  it("keeps a target that fits the GPU whole, and a split one when nothing smaller fits whole", () => {
    expect(chooseVariant(input({ complexity: at(0.45), gpuLayers }))).toMatchObject({
      quantization: "q5_k_m",
      reason: "complexity_medium",
    });
    const none = {
      ...gpuLayers,
      q4_0: { gpuLayers: 5, totalLayers: 33 },
      q4_k_m: { gpuLayers: 4, totalLayers: 33 },
      q5_k_m: { gpuLayers: 3, totalLayers: 33 },
    };
    expect(chooseVariant(input({ complexity: at(0.8), gpuLayers: none }))).toMatchObject({
      quantization: "q8_0",
      reason: "complexity_high",
    });
  });

  it("never substitutes for a pinned variant or with adaptive quantization off", () => {
    expect(chooseVariant(input({ pinned: "f16", gpuLayers }))).toMatchObject({ quantization: "f16", reason: "pinned" });
    expect(chooseVariant(input({ adaptive: false, defaultQuantization: "q8_0", gpuLayers }))).toMatchObject({
      quantization: "q8_0",
      reason: "adaptive_disabled",
    });
  });

  it("the whole-on-GPU variant must still fit RAM", () => {
    const d = chooseVariant(
      input({ complexity: at(0.8), gpuLayers, estimateBytes: { ...SIZES, q5_k_m: 1e15, q4_k_m: 1e15 } }),
    );
    expect(d).toMatchObject({ quantization: "q4_0", reason: "gpu_offload_downgrade" });
  });
});

describe("chooseVariant: measured quality", () => {
  const floor = [0, 0.9, 0.97] as const;
  it("raises a target measured below its level's floor to the next more precise variant that meets it", () => {
    const d = chooseVariant(
      input({
        complexity: at(0.9),
        quality: {
          q8_0: { top1Agreement: 0.93, reference: "f16" },
          f16: { top1Agreement: 1, reference: "f16" },
        },
        qualityFloor: floor,
      }),
    );
    expect(d.quantization).toBe("f16");
    expect(d.reason).toBe("quality_floor");
    expect(d.detail).toContain("q8_0: top-1 agreement 0.93 vs f16");
  });

  it("keeps the static choice when the target meets the floor, and says its measured agreement", () => {
    const d = chooseVariant(
      input({
        complexity: at(0.9),
        quality: { q8_0: { top1Agreement: 0.98, reference: "f16" } },
        qualityFloor: floor,
      }),
    );
    expect(d.quantization).toBe("q8_0");
    expect(d.reason).toBe("complexity_high");
    expect(d.detail).toContain("q8_0: top-1 agreement 0.98 vs f16");
  });

  it("keeps the static choice when no more precise variant is measured at or above the floor", () => {
    const d = chooseVariant(
      input({
        complexity: at(0.45),
        quality: { q5_k_m: { top1Agreement: 0.5, reference: "f16" } },
        qualityFloor: floor,
      }),
    );
    expect(d.quantization).toBe("q5_k_m");
    expect(d.reason).toBe("complexity_medium");
  });

  it("ignores measured quality without a floor (low level: 0)", () => {
    const d = chooseVariant(
      input({ quality: { q4_0: { top1Agreement: 0.2, reference: "f16" } }, qualityFloor: floor }),
    );
    expect(d.quantization).toBe("q4_0");
  });
});
