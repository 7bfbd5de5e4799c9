// The metric names the product guide fixes, and registry isolation between createMetrics calls.
import { describe, expect, it } from "vitest";
import { createMetrics } from "./create-metrics.ts";

describe("createMetrics", () => {
  it("registers the guide's exact names with their types", async () => {
    const { registry } = createMetrics();
    const types = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
    expect(types.get("reflexia_http_requests_total")).toBe("counter");
    expect(types.get("reflexia_model_inference_duration_seconds")).toBe("histogram");
    expect(types.get("reflexia_memory_usage_bytes")).toBe("gauge");
    expect(types.get("reflexia_memory_usage_percent")).toBe("gauge");
    expect(types.get("reflexia_rag_retrieval_duration_seconds")).toBe("histogram");
    // A gauge: it falls on delete, which rate() would read as a reset of a summary's _count.
    expect(types.get("reflexia_rag_document_count")).toBe("gauge");
    const text = await registry.metrics();
    expect(text).toMatch(/^reflexia_rag_document_count 0$/m);
    expect(text).not.toMatch(/^# TYPE \S+_total gauge$/m);
  });

  it("labels the inference histogram by model and quantization", async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.inference.observeGeneration(
      { name: "tiny", quantization: "q4_0" },
      {
        text: "x",
        finishReason: "length",
        promptTokens: 3,
        completionTokens: 2,
        timings: { queueMs: 0, promptEvalMs: 1, ttftMs: 2, evalMs: 3, totalMs: 5, interTokenMs: [3] },
      },
    );
    const text = await m.registry.metrics();
    expect(text).toContain('reflexia_model_inference_duration_seconds_count{model="tiny",quantization="q4_0"} 1');
    expect(text).toContain('reflexia_generated_tokens_total{model="tiny",quantization="q4_0"} 2');
    expect(text).toContain('reflexia_inter_token_latency_seconds_count{model="tiny",quantization="q4_0"} 1');
  });

  it("gives each call its own registry", async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.cache.hits.inc();
    expect(await b.registry.metrics()).toMatch(/^reflexia_cache_hits_total 0$/m);
    expect(await a.registry.metrics()).toMatch(/^reflexia_cache_hits_total 1$/m);
  });
});
