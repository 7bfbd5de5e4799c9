// The offline first run: when the store holds no model, synthesize reflexia-tiny in every quantization.
import type { Config } from "../config/index.ts";
import { QUANTIZATIONS } from "../config/index.ts";
import type { createModelStore } from "../registry/index.ts";

/** Returns true when it created the default model. Fast: the tiny shape takes seconds. */
export async function ensureDefaultModel(store: ReturnType<typeof createModelStore>, config: Config): Promise<boolean> {
  const models = await store.list();
  if (models.length > 0) return false;
  const r = await store.ensureDefaultModel({ name: config.models.default, quants: [...QUANTIZATIONS], shape: "tiny", seed: 42 });
  return r.created;
}
