// Variant selection for a request: pinned `name:tag` references as given, untagged names by the configured
// default (or by the adaptive policy when one is plugged in), always checked against the memory budget.
import type { Config } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import type { ReflexiaMetrics } from "../metrics/index.ts";
import type { ModelStore, ResolvedModel } from "../registry/index.ts";
import type { Scheduler } from "../scheduler/index.ts";

export interface SelectableVariant extends ResolvedModel {
  /** Resident memory the variant needs at the configured context, when known. */
  estimatedBytes?: number;
}

export interface VariantSelection {
  variant: SelectableVariant;
  /** pinned | default | adaptive reasons from the policy (e.g. complexity_high, memory_downgrade, prefer_loaded). */
  reason: string;
  pinned: boolean;
  complexity: { level: string; score: number } | null;
  /** Used memory / budget at decision time; null without a memory monitor. */
  pressure: number | null;
}

export interface SelectionInput {
  messages?: readonly { role: string; content: string }[];
  prompt?: string;
}

/**
 * The adaptive-quantization seam: given the model's stored variants and the request, pick one. Implemented over
 * src/policy in create-adaptive-chooser.ts; absent when ENABLE_ADAPTIVE_QUANTIZATION=false.
 */
export interface AdaptiveChooser {
  choose(name: string, variants: SelectableVariant[], input: SelectionInput): VariantSelection | Promise<VariantSelection>;
  /** Called with the selection actually served (hysteresis state, switch metrics). */
  record?(selection: VariantSelection): void;
}

export interface VariantSelector {
  select(ref: string, input: SelectionInput): Promise<VariantSelection>;
  /** Notes the selection that served a request. */
  record(selection: VariantSelection): void;
}

export interface VariantSelectorOptions {
  config: Config;
  store: Pick<ModelStore, "resolve" | "variants">;
  scheduler: Pick<Scheduler, "fit">;
  /** Resolves a variant with its memory estimate (cached by the caller); defaults to store.resolve. */
  resolveVariant?: (ref: string) => Promise<SelectableVariant>;
  adaptive?: AdaptiveChooser;
  metrics?: ReflexiaMetrics;
  /** Memory pressure now (used / budget), when a monitor runs. */
  pressure?: () => number;
}

export function createVariantSelector(options: VariantSelectorOptions): VariantSelector {
  const { config, store, scheduler, adaptive, metrics } = options;
  const resolveVariant = options.resolveVariant ?? ((ref: string) => store.resolve(ref));
  const pressureNow = (): number | null => (options.pressure ? options.pressure() : null);

  const refuseIfNeverFits = (sel: VariantSelection): VariantSelection => {
    if (scheduler.fit(sel.variant) === "never") {
      const ref = `${sel.variant.name}:${sel.variant.tag}`;
      throw new ReflexiaError(
        "RFX_MEMORY_BUDGET",
        `${ref} needs about ${Math.round((sel.variant.estimatedBytes ?? sel.variant.sizeBytes) / 2 ** 20)} MiB and cannot fit the memory budget (MAX_MEMORY_PERCENT=${config.memory.max_memory_percent})`,
        { variant: ref, estimatedBytes: sel.variant.estimatedBytes ?? null, reason: sel.pinned ? "pinned_over_budget" : "no_variant_fits" },
      );
    }
    return sel;
  };

  return {
    async select(ref, input) {
      if (ref.includes(":")) {
        const variant = await resolveVariant(ref);
        return refuseIfNeverFits({ variant, reason: "pinned", pinned: true, complexity: null, pressure: pressureNow() });
      }
      if (adaptive && config.adaptive.enabled) {
        const manifests = await store.variants(ref);
        if (manifests.length === 0) await resolveVariant(ref); // throws RFX_MODEL_NOT_FOUND with the store's message
        const variants = await Promise.all(manifests.map((m) => resolveVariant(`${m.name}:${m.tag}`)));
        return refuseIfNeverFits(await adaptive.choose(ref, variants, input));
      }
      const variant = await resolveVariant(ref);
      return refuseIfNeverFits({ variant, reason: "default", pinned: false, complexity: null, pressure: pressureNow() });
    },
    record(selection) {
      metrics?.policy.decisions.inc({ quantization: selection.variant.quantization, reason: selection.reason });
      adaptive?.record?.(selection);
    },
  };
}
