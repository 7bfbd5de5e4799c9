// One-shot local generation for the CLI: resolve a model reference, load it, apply a role, generate, unload.
import type { Config } from "../config/index.ts";
import type { ChatMessage, Engine, GenerateOptions, GenerationResult, LoadedModel } from "../engine/types.ts";
import type { ModelStore } from "../registry/index.ts";
import { gpuLayersForLoad } from "./gpu-placement.ts";
import { createRoleCatalog } from "./roles.ts";

export interface LocalGenerationOptions extends Omit<GenerateOptions, "signal"> {
  model?: string;
  role?: string;
  /** Send the prompt as-is instead of through the chat template. Defaults to false. */
  raw?: boolean;
  signal?: AbortSignal;
}

export interface LocalGenerationResult extends GenerationResult {
  model: string;
  variant: string;
  quantization: string;
  role?: string;
  loadMs: number;
}

/** Resolves `name` or `name:tag`; an untagged name uses the configured default quantization when it exists. */
export async function resolveLocalModel(store: ModelStore, config: Config, ref?: string) {
  const wanted = ref ?? config.models.default;
  if (wanted.includes(":")) return store.resolve(wanted);
  try {
    return await store.resolve(`${wanted}:${config.models.default_quantization}`);
  } catch {
    return store.resolve(wanted);
  }
}

export async function openLocalModel(
  engine: Engine,
  config: Config,
  path: string,
): Promise<{ model: LoadedModel; loadMs: number }> {
  const t0 = performance.now();
  const gpuLayers = await gpuLayersForLoad(engine, config, path, {
    contextSize: config.models.context_size,
    parallel: 1,
  });
  const model = await engine.loadModel({
    path,
    contextSize: config.models.context_size,
    parallel: 1,
    ...(gpuLayers > 0 ? { gpuLayers } : {}),
  });
  return { model, loadMs: performance.now() - t0 };
}

export function buildMessages(
  config: Config,
  prompt: string,
  roleId?: string,
  history: ChatMessage[] = [],
): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (roleId)
    messages.push({ role: "system", content: createRoleCatalog(config.roles.custom).get(roleId).systemPrompt });
  return [...messages, ...history, { role: "user", content: prompt }];
}

export async function runLocalGeneration(
  deps: { engine: Engine; store: ModelStore; config: Config },
  prompt: string,
  options: LocalGenerationOptions = {},
): Promise<LocalGenerationResult> {
  const { engine, store, config } = deps;
  // Validate the role before loading anything: a typo should fail fast.
  const messages = buildMessages(config, prompt, options.role);
  const variant = await resolveLocalModel(store, config, options.model);
  const { model, loadMs } = await openLocalModel(engine, config, variant.path);
  try {
    const result = options.raw ? await model.generate(prompt, options) : await model.chat(messages, options);
    return {
      ...result,
      model: variant.name,
      variant: `${variant.name}:${variant.tag}`,
      quantization: variant.quantization,
      role: options.role,
      loadMs,
    };
  } finally {
    await model.dispose();
  }
}
