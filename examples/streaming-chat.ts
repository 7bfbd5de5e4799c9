// Streaming chat with an AbortSignal: print the answer as it is generated and stop it early (here after 5 pieces
// or 10 seconds, whichever comes first); the outcome still arrives, with finishReason "cancelled".
// Run: node --conditions=reflexia-source --import tsx examples/streaming-chat.ts   (in a checkout)
import { createReflexia, ReflexiaError } from "reflexia";

const reflexia = await createReflexia();
const controller = new AbortController();
const timer = setTimeout(() => controller.abort(), 10_000);
try {
  const stream = reflexia.chat({
    messages: [
      { role: "system", content: "You are a concise assistant." },
      { role: "user", content: "Explain how a transformer model generates text, step by step." },
    ],
    signal: controller.signal,
  });
  let pieces = 0;
  for await (const text of stream) {
    process.stdout.write(text);
    if (++pieces === 5) controller.abort();
  }
  const result = await stream.result;
  console.log(`\n[${result.meta.variant}] ${result.completionTokens} tokens, finish: ${result.finishReason}`);
} catch (e) {
  // Aborted while still waiting for a sequence: nothing was generated.
  if (e instanceof ReflexiaError && e.code === "RFX_CANCELLED") console.log("cancelled before the first token");
  else throw e;
} finally {
  clearTimeout(timer);
  await reflexia.close();
}
