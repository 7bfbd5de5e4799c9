// One-shot local generation for the CLI: resolve a model reference, load it, apply a role, generate, unload.
import type { Config } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import type { ChatMessage, Engine, GenerateOptions, GenerationResult, LoadedModel } from "../engine/types.ts";
import type { ModelfileSettings, ModelStore } from "../registry/index.ts";
import { effectiveTemplate, renderTemplatePrompt, withModelDefaults, withModelMessages } from "./apply-modelfile.ts";
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

/**
 * Resolves `name` or `name:tag`; an untagged name uses the configured default quantization when it exists. A remote
 * variant is refused by name: this process loads GGUF files only, and the server's upstream pools (endpoint health,
 * retries, per-endpoint concurrency) serve remote variants, so an embedded run would bypass what they guarantee.
 */
export async function resolveLocalModel(store: ModelStore, config: Config, ref?: string) {
  const wanted = ref ?? config.models.default;
  const variant = await resolveStored(store, config, wanted);
  if (variant.remote)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${variant.name}:${variant.tag} is a remote variant (served by ${variant.remote.endpoints.length} OpenAI-compatible endpoint(s)): this process loads local GGUF files only; remote variants are served by \`reflexia serve\` (start it and the CLI goes through it, without --local), or choose a local variant`,
      { model: `${variant.name}:${variant.tag}` },
    );
  return variant;
}

async function resolveStored(store: ModelStore, config: Config, wanted: string) {
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

/**
 * One answer of a model loaded in this process, shaped as the server shapes it (inference-service.ts): the model's
 * stored messages and SYSTEM before `input.messages`, its TEMPLATE when Reflexia can render it, its PARAMETERs under
 * the options the caller set (an option left undefined never overrides one), `defaultMaxTokens` when neither sets
 * num_predict. `input.prompt` is sent as-is (raw), with only the parameters applied.
 */
export function answerWithModel(
  model: LoadedModel,
  settings: ModelfileSettings | undefined,
  input: { messages: ChatMessage[] } | { prompt: string },
  options: GenerateOptions,
  defaultMaxTokens: number,
): Promise<GenerationResult> {
  const sampling = withModelDefaults(options, settings);
  const opts: GenerateOptions = { ...options, ...sampling, maxTokens: sampling.maxTokens ?? defaultMaxTokens };
  if ("prompt" in input) return model.generate(input.prompt, opts);
  const messages = withModelMessages(input.messages, settings);
  const template = effectiveTemplate(undefined, settings);
  return template === undefined
    ? model.chat(messages, opts)
    : model.generate(renderTemplatePrompt(template, messages), opts);
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
    // Raw, the role's system prompt leads the text, as the server's completion does.
    const { model: _ref, role, raw, ...generateOptions } = options;
    const input = raw ? { prompt: role ? `${messages[0].content}\n\n${prompt}` : prompt } : { messages };
    const result = await answerWithModel(
      model,
      variant.manifest.modelfile,
      input,
      generateOptions,
      config.models.default_max_tokens,
    );
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
