// Adaptive-quantization metrics: every variant decision and every switch between variants, with the reason.
import { Counter, type Registry } from "prom-client";

export interface PolicyMetrics {
  /** reflexia_quantization_decisions_total{quantization,reason}: one per served generation. */
  decisions: Counter<"quantization" | "reason">;
  /** reflexia_quantization_switches_total{from,to,reason}: a model's chosen variant changed from the previous request's. */
  switches: Counter<"from" | "to" | "reason">;
}

export function createPolicyMetrics(registry: Registry): PolicyMetrics {
  return {
    decisions: new Counter({
      name: "reflexia_quantization_decisions_total",
      help: "Quantization variant decisions by chosen quantization and reason.",
      labelNames: ["quantization", "reason"],
      registers: [registry],
    }),
    switches: new Counter({
      name: "reflexia_quantization_switches_total",
      help: "Changes of a model's chosen variant between consecutive requests, by from/to quantization and reason.",
      labelNames: ["from", "to", "reason"],
      registers: [registry],
    }),
  };
}
