// Quantizing stored models: new variants from the most precise one, with llama.cpp's own quantizer.
import { parseQuantization, QUANTIZATIONS, type Quantization } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import { fileTypePrecision } from "./file-types.ts";
import { modelNotFound, type ModelCatalog } from "./model-catalog.ts";
import { parseModelRef } from "./parse-model-ref.ts";
import type { ModelSource, QuantizeResult, SynthProgress } from "./types.ts";

export interface QuantizeVariantsOptions {
  onProgress?: (p: SynthProgress) => void;
}

// Sources llama.cpp quantizes from without re-quantizing (and compounding the loss of) already quantized weights.
export const UNQUANTIZED_FILE_TYPES: ReadonlySet<string> = new Set(["f32", "f16", "bf16"]);

// Loaded on first use: the quantizer binds libllama through FFI, which listing or resolving models never needs.
export async function quantizeFile(
  input: string,
  output: string,
  type: Quantization,
  options: { allowRequantize?: boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<void> {
  const { quantizeModel } = await import("../engine/quantize.ts");
  await quantizeModel({
    input,
    output,
    type,
    allowRequantize: options.allowRequantize,
    onProgress: options.onProgress,
  });
}

/**
 * The distinct quantizations `quants` names, in any case as the CLI and the HTTP API take them (Q4_K_M is q4_k_m);
 * RFX_VALIDATION when it is empty or names an unknown quantization.
 */
export function validateQuantizations(quants: readonly string[], what: string): Quantization[] {
  if (quants.length === 0)
    throw new ReflexiaError("RFX_VALIDATION", `${what}: name at least one quantization (${QUANTIZATIONS.join(", ")})`);
  const named = quants.map((q) => {
    const n = parseQuantization(q);
    if (n === undefined)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `${what}: unknown quantization ${JSON.stringify(q)} (supported: ${QUANTIZATIONS.join(", ")})`,
        { quantization: q },
      );
    return n;
  });
  return [...new Set(named)];
}

/** Creates variants `to` of a model from its most precise stored variant (or from the variant `ref` names). */
export async function quantizeVariants(
  catalog: ModelCatalog,
  ref: string,
  to: readonly string[],
  opts: QuantizeVariantsOptions = {},
): Promise<QuantizeResult> {
  const parsed = parseModelRef(ref);
  const targets = validateQuantizations(to, "quantize");
  const all = await catalog.variants(parsed.name);
  if (all.length === 0) throw modelNotFound(parsed.name);
  const from = parsed.tag ? (await catalog.resolve(ref)).manifest : all[all.length - 1]; // variants() sorts most precise last
  const fromPath = catalog.blobPath(from.digest);
  const skipped: QuantizeResult["skipped"] = [];
  const todo: Quantization[] = [];
  for (const q of targets) {
    if (all.some((v) => v.tag === q)) skipped.push({ tag: q, reason: `${parsed.name}:${q} already exists` });
    else if (fileTypePrecision(q) > fileTypePrecision(from.quantization)) {
      skipped.push({
        tag: q,
        reason: `the most precise source, ${from.name}:${from.tag} (${from.quantization}), is less precise than ${q}`,
      });
    } else todo.push(q);
  }
  const source: ModelSource = { kind: "quantize", from: `${from.name}:${from.tag}` };
  const requantized = todo.length > 0 && !UNQUANTIZED_FILE_TYPES.has(from.quantization);
  const created = await catalog.produceAndCommit(
    todo.map((q, i) => ({
      tag: q,
      source,
      produce: async (out: string) => {
        opts.onProgress?.({ phase: "quantize", quantization: q, done: i, total: todo.length });
        await quantizeFile(fromPath, out, q, {
          allowRequantize: requantized,
          onProgress: (done, total) =>
            opts.onProgress?.({ phase: "quantize", quantization: q, done: i + done / total, total: todo.length }),
        });
      },
    })),
    parsed.name,
    false,
  );
  return { from, created, skipped, requantized };
}
