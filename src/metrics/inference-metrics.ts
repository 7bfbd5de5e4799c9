// Inference and scheduling metrics: durations, token latencies, token counts, queue, loads and loaded variants.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { FINISH_REASONS, type GenerationResult } from "../engine/types.ts";
import {
  EVICTION_REASONS,
  type SchedulerMetricsSink,
  type SchedulerStatus,
  type VariantStatus,
} from "../scheduler/index.ts";

type VariantLabels = "model" | "quantization";

export interface InferenceMetrics {
  inferenceDuration: Histogram<VariantLabels>;
  timeToFirstToken: Histogram<VariantLabels>;
  interTokenLatency: Histogram<VariantLabels>;
  queueWait: Histogram<VariantLabels>;
  promptTokens: Counter<VariantLabels>;
  cachedPromptTokens: Counter<VariantLabels>;
  generatedTokens: Counter<VariantLabels>;
  generations: Counter<VariantLabels | "finish_reason">;
  modelLoadDuration: Histogram<VariantLabels>;
  evictions: Counter<"reason">;
  rejections: Counter<"reason">;
  running: Gauge;
  queued: Gauge;
  loadedVariants: Gauge;
  activeSequences: Gauge<VariantLabels>;
  gpuLayers: Gauge<VariantLabels>;
  /** Records one finished generation (durations, token latencies, token counts). */
  observeGeneration(variant: { name: string; quantization: string }, result: GenerationResult): void;
  /** The scheduler's observation seam. */
  schedulerSink: SchedulerMetricsSink;
  /** Sets the status provider that the running/queued/loaded gauges read at scrape time. */
  bindScheduler(status: () => SchedulerStatus): void;
  /**
   * Drops every series of `model` in the given quantizations (a deleted model's histograms and counters would
   * otherwise stay in every scrape until restart).
   */
  forgetModel(model: string, quantizations: readonly string[]): void;
}

export function createInferenceMetrics(registry: Registry): InferenceMetrics {
  let statusOf: (() => SchedulerStatus) | null = null;
  const labelNames = ["model", "quantization"] as const;
  const registers = [registry];
  // Per-variant gauges are rebuilt from the scheduler at each scrape, so an unloaded variant leaves the scrape.
  const perGenerationVariant = (gauge: Gauge<VariantLabels>, value: (v: VariantStatus) => number): void => {
    if (!statusOf) return;
    gauge.reset();
    for (const v of statusOf().variants)
      if (!v.embedding) gauge.inc({ model: v.name, quantization: v.quantization }, value(v));
  };
  const m = {
    generations: new Counter({
      name: "reflexia_generations_total",
      help: "Finished generations by finish reason: stop, length, or cancelled (the client went away; the sequence was freed).",
      labelNames: [...labelNames, "finish_reason"],
      registers,
    }),
    inferenceDuration: new Histogram({
      name: "reflexia_model_inference_duration_seconds",
      help: "Duration of a generation on a loaded variant (prompt evaluation + decoding, queue excluded).",
      labelNames,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    timeToFirstToken: new Histogram({
      name: "reflexia_time_to_first_token_seconds",
      help: "Time from the start of a generation to its first generated token (prompt evaluation included).",
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    interTokenLatency: new Histogram({
      name: "reflexia_inter_token_latency_seconds",
      help: "Time between consecutive generated tokens of one sequence.",
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    queueWait: new Histogram({
      name: "reflexia_queue_wait_seconds",
      help: "Time a request waited in the scheduler queue for a free sequence.",
      labelNames,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    promptTokens: new Counter({
      name: "reflexia_prompt_tokens_total",
      help: "Prompt tokens of generations, evaluated or served from the prefix cache.",
      labelNames,
      registers,
    }),
    cachedPromptTokens: new Counter({
      name: "reflexia_prompt_tokens_cached_total",
      help: "Prompt tokens served from the prefix cache (KV kept from an earlier request) instead of evaluated.",
      labelNames,
      registers,
    }),
    generatedTokens: new Counter({
      name: "reflexia_generated_tokens_total",
      help: "Tokens generated.",
      labelNames,
      registers,
    }),
    modelLoadDuration: new Histogram({
      name: "reflexia_model_load_duration_seconds",
      help: "Time to load a variant and create its context.",
      labelNames,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    evictions: new Counter({
      name: "reflexia_model_evictions_total",
      help: `Variants unloaded, by reason (${EVICTION_REASONS.join(", ")}).`,
      labelNames: ["reason"],
      registers,
    }),
    rejections: new Counter({
      name: "reflexia_requests_rejected_total",
      help: "Requests refused by the scheduler, by reason (queue_full, memory_budget, draining).",
      labelNames: ["reason"],
      registers,
    }),
    running: new Gauge({
      name: "reflexia_requests_running",
      help: "Requests holding a sequence (decoding or loading their variant).",
      registers,
      collect() {
        if (statusOf) this.set(statusOf().running);
      },
    }),
    queued: new Gauge({
      name: "reflexia_requests_queued",
      help: "Requests waiting for a free sequence.",
      registers,
      collect() {
        if (statusOf) this.set(statusOf().queued);
      },
    }),
    loadedVariants: new Gauge({
      name: "reflexia_loaded_variants",
      help: "Model variants currently loaded (generation and embedding contexts).",
      registers,
      collect() {
        if (statusOf) this.set(statusOf().variants.length);
      },
    }),
    activeSequences: new Gauge({
      name: "reflexia_active_sequences",
      help: "Sequences generating now, per loaded variant.",
      labelNames,
      registers,
      collect() {
        perGenerationVariant(this, (v) => v.activeSequences);
      },
    }),
    gpuLayers: new Gauge({
      name: "reflexia_gpu_layers",
      help: "Layers of a loaded variant on the GPU (output layer counted, as llama.cpp's n_gpu_layers); 0 when it runs on the CPU.",
      labelNames,
      registers,
      collect() {
        perGenerationVariant(this, (v) => v.gpuLayers);
      },
    }),
  };
  const labelsOf = (v: { name: string; quantization: string }) => ({ model: v.name, quantization: v.quantization });
  const perVariant = [
    m.inferenceDuration,
    m.timeToFirstToken,
    m.interTokenLatency,
    m.queueWait,
    m.promptTokens,
    m.cachedPromptTokens,
    m.generatedTokens,
    m.modelLoadDuration,
  ];
  return {
    ...m,
    forgetModel(model, quantizations) {
      for (const quantization of quantizations) {
        for (const metric of perVariant) metric.remove({ model, quantization });
        for (const finish_reason of FINISH_REASONS) m.generations.remove({ model, quantization, finish_reason });
      }
    },
    observeGeneration(variant, result) {
      const l = labelsOf(variant);
      const t = result.timings;
      m.inferenceDuration.observe(l, Math.max(0, t.totalMs - t.queueMs) / 1000);
      if (result.completionTokens > 0) m.timeToFirstToken.observe(l, Math.max(0, t.ttftMs - t.queueMs) / 1000);
      for (const ms of t.interTokenMs) m.interTokenLatency.observe(l, ms / 1000);
      m.promptTokens.inc(l, result.promptTokens);
      m.cachedPromptTokens.inc(l, result.cachedPromptTokens ?? 0);
      m.generatedTokens.inc(l, result.completionTokens);
      m.generations.inc({ ...l, finish_reason: result.finishReason });
    },
    schedulerSink: {
      observeQueueWait: (v, s) => m.queueWait.observe(labelsOf(v), s),
      observeLoad: (v, s) => m.modelLoadDuration.observe(labelsOf(v), s),
      countEviction: (_v, reason) => m.evictions.inc({ reason }),
      countRejection: (reason) => m.rejections.inc({ reason }),
    },
    bindScheduler(status) {
      statusOf = status;
    },
  };
}
