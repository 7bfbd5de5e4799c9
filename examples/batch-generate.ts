// Batch generation, as in the product guide: several prompts answered concurrently (the scheduler decodes them
// together), results in input order, a failed prompt reported in its slot without failing the others.
// Run: node --conditions=reflexia-source --import tsx examples/batch-generate.ts   (in a checkout)
import { createReflexia } from "reflexia";

const reflexia = await createReflexia();
try {
  const prompts = ["What is quantum computing?", "Explain machine learning", "Summarize the history of the internet"];
  const responses = await reflexia.batchGenerate(prompts, { maxTokens: 32 });
  responses.forEach((response, i) => {
    console.log(`> ${prompts[i]}`);
    if (!response.ok) return console.log(`  failed: ${response.error.code} ${response.error.message}`);
    const { text, completionTokens, meta } = response.result;
    // meta says which variant answered and why (adaptive quantization), and whether the cache served it.
    console.log(`  [${meta.variant}, ${meta.reason}, cache ${meta.cache}] ${completionTokens} tokens`);
    console.log(`  ${text.trim().slice(0, 200)}`);
  });
} finally {
  await reflexia.close();
}
