// The offline first run, for the server and the CLI alike: when the store holds no model, synthesize the configured
// default model in every quantization and say, once and in one wording, what it is.
import type { Config } from "../config/index.ts";
import type { ModelStore } from "../registry/index.ts";

/** What a person sees when the default model was just created: it is synthetic, and how to add a real one. */
export function defaultModelNotice(name: string, tags: readonly string[]): string {
  return (
    `note: no model was in the store, so Reflexia created "${name}" (variants ${tags.join(", ")}).\n` +
    `      It is a SYNTHETIC model with random weights: its text is gibberish. It exists for benchmarking,\n` +
    `      capacity planning and wiring, offline. Add a real model with:\n` +
    `        reflexia models add /path/to/model.gguf --name mymodel     (or: models pull URL --name N, models import-ollama)\n`
  );
}

export interface EnsureDefaultModelOptions {
  /** Receives the notice when the model was created (the CLI's --json runs pass nothing and stay quiet). */
  onNotice?: (notice: string) => void;
}

/** Creates `models.default` when the store is empty; returns whether it did. Fast: the tiny shape takes seconds. */
export async function ensureDefaultModel(
  store: ModelStore,
  config: Config,
  options: EnsureDefaultModelOptions = {},
): Promise<boolean> {
  if ((await store.list()).length > 0) return false;
  const r = await store.ensureDefaultModel({ name: config.models.default });
  if (r.created) options.onNotice?.(defaultModelNotice(r.name, r.createdTags));
  return r.created;
}
