// Retrieval-augmented answers over a folder: ingest every file below it, search it, then ask with `rag: true`; the
// answer cites its sources (meta.sources), exactly the quoted chunks.
// Run: node --conditions=reflexia-source --import tsx examples/rag-folder.ts [folder]   (default: examples/docs)
import { fileURLToPath } from "node:url";
import { createReflexia } from "reflexia";

const folder = process.argv[2] ?? fileURLToPath(new URL("./docs", import.meta.url));
const reflexia = await createReflexia();
try {
  const added = await reflexia.documents.add(folder);
  for (const item of added)
    console.log(
      item.ok
        ? `${item.result.status} ${item.source} (${item.result.chunks.length} chunks)`
        : `failed ${item.source}: ${item.error.code}`,
    );

  const hits = await reflexia.documents.query("How does adaptive quantization choose a variant?", { topK: 2 });
  for (const hit of hits.results) console.log(`hit ${hit.title} #${hit.chunkIndex} (${hit.score.toFixed(3)})`);

  const answer = await reflexia.generate({
    prompt: "How does adaptive quantization choose a variant?",
    rag: { topK: 2 },
    maxTokens: 48,
  });
  console.log(answer.text.trim().slice(0, 200));
  for (const s of answer.meta.sources ?? []) console.log(`[${s.n}] ${s.title} #${s.chunk_index}`);
} finally {
  await reflexia.close();
}
