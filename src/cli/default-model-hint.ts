// The error a command gives when the user named no model and the configured default is not in the store: what to
// pass instead, and which models there are to pass.
import type { ReflexiaClient } from "../client/index.ts";
import { isReflexiaError, ReflexiaError } from "../errors/index.ts";
import type { ModelStore } from "../registry/index.ts";

/**
 * `e` unchanged unless it is RFX_MODEL_NOT_FOUND for `defaultModel`; then the same code with a message naming
 * --model and DEFAULT_MODEL and listing the models of the store the command used (the server's, or this one).
 */
export async function withDefaultModelHint(
  e: unknown,
  defaultModel: string,
  source: { server: ReflexiaClient | null; store: Pick<ModelStore, "list"> },
): Promise<unknown> {
  if (!isReflexiaError(e) || e.code !== "RFX_MODEL_NOT_FOUND") return e;
  const wanted = (e.details as { model?: unknown } | undefined)?.model;
  if (typeof wanted === "string" && wanted !== defaultModel && !wanted.startsWith(`${defaultModel}:`)) return e;
  let names: string[];
  try {
    names = source.server
      ? (await source.server.tags()).models.map((m) => m.name)
      : (await source.store.list()).flatMap((m) => m.variants.map((v) => `${m.name}:${v.tag}`));
  } catch {
    return e;
  }
  const have = names.length > 0 ? `models in the store: ${names.join(", ")}` : "the store has no model";
  return new ReflexiaError(
    "RFX_MODEL_NOT_FOUND",
    `no model was named and the default model ${JSON.stringify(defaultModel)} is not in the store: pass --model NAME or set DEFAULT_MODEL (${have})`,
    { model: defaultModel },
  );
}
