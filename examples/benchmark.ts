// A benchmark from code: the inference benchmark (ms per token, tok/s, time to first token) of the default model's
// variant, the same run POST /api/benchmarks starts. Numbers depend on the machine; compare within one run.
// Run: node --conditions=reflexia-source --import tsx examples/benchmark.ts   (in a checkout)
import { createReflexia } from "reflexia";

const reflexia = await createReflexia();
try {
  const run = await reflexia.benchmark("inference", { tokens: 16, repetitions: 1, onLog: (line) => console.log(line) });
  console.log(`models: ${run.models.map((m) => m.ref).join(", ")}`);
  console.log(`headline: ${run.headline ?? "(none)"}`);
} finally {
  await reflexia.close();
}
