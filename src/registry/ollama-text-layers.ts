// The text layers of an Ollama manifest (template, system, params, messages, license) read as a model's settings:
// one reading for `pull` (from a registry) and `models import-ollama` (from an Ollama models directory).
import { ReflexiaError, type ErrorCode } from "../errors/index.ts";
import type { ModelfileMessage, ModelfileSettings } from "./types.ts";

const IMAGE = "application/vnd.ollama.image.";
/** Media types of the text layers Ollama manifests carry beside the weights; each becomes a field of the settings. */
export const OLLAMA_TEXT_LAYERS: readonly string[] = ["template", "system", "params", "license", "messages"].map(
  (k) => IMAGE + k,
);
/** The largest text layer read (bytes): a template or a license, never weights. */
export const OLLAMA_TEXT_LAYER_LIMIT = 1 << 20;

/**
 * Why a model's stored default `value` for the option `name` would make requests to it fail (undefined when it
 * would not). The store is given one by its composer (the options' ranges are the HTTP layer's statement).
 */
export type ParameterProblem = (name: string, value: unknown) => string | undefined;

export interface OllamaTextLayersOptions {
  /** Whose layers, for messages (`tiny:latest`). */
  what: string;
  /** The code a malformed layer is refused with. */
  code: ErrorCode;
  /** Parameters it names a problem for are left out of the settings (and listed in `leftOut`). Defaults to none. */
  parameterProblem?: ParameterProblem;
}

/**
 * The settings `layers` (mediaType + text) stand for, as Ollama applies them: template, system, params (a JSON
 * object), messages (a JSON array), license (each layer one entry). Parameters a request could not carry are left
 * out, so the model is stored runnable; `leftOut` says which and why.
 */
export function settingsOfTextLayers(
  layers: readonly { mediaType: string; text: string }[],
  opts: OllamaTextLayersOptions,
): { settings: ModelfileSettings; leftOut: string[] } {
  const settings: ModelfileSettings = {};
  const license: string[] = [];
  const leftOut: string[] = [];
  for (const { mediaType, text } of layers) {
    const kind = mediaType.slice(IMAGE.length);
    if (kind === "license") license.push(text);
    else if (kind === "template") settings.template = text;
    else if (kind === "system") settings.system = text;
    else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new ReflexiaError(opts.code, `${opts.what}: its ${kind} layer is not JSON`);
      }
      if (kind === "params" && parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        const kept: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(parsed)) {
          const problem = opts.parameterProblem?.(name, value);
          if (problem) leftOut.push(`parameter ${name} left out: it ${problem}`);
          else kept[name] = value;
        }
        if (Object.keys(kept).length > 0) settings.parameters = kept;
      } else if (kind === "messages" && Array.isArray(parsed)) settings.messages = parsed as ModelfileMessage[];
      else throw new ReflexiaError(opts.code, `${opts.what}: its ${kind} layer has the wrong shape`);
    }
  }
  if (license.length > 0) settings.license = license;
  return { settings, leftOut };
}
