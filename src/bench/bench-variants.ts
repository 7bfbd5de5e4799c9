// Which model variants a benchmark run measures, and making the missing ones: `--quantization` names variants of
// a model (quantized from its most precise variant when absent), `--shape` synthesizes a model of a named size first.
// Variants made for the run are removed when it ends unless the caller keeps them.
import { ReflexiaError } from "../errors/index.ts";
import { isModelShapeName, MODEL_SHAPE_NAMES } from "../gguf/index.ts";
import { parseModelRef, validateQuantizations, type ModelStore, type SynthProgress } from "../registry/index.ts";

/** The variants a run covers when nothing names them: those the offline default model always has. */
export const DEFAULT_BENCH_QUANTIZATIONS = ["q4_0", "q8_0", "f16"] as const;

export interface BenchmarkVariantsOptions {
  store: ModelStore;
  /** config `models.default`: the model when neither `model` nor `shape` is given. */
  defaultModel: string;
  /** `name:tag` (that one variant) or a bare name (every stored variant, or those `quantizations` names). */
  model?: string;
  /** The guide's `--quantization q4_0,q5_k_m,f16`: variants of the model, made when absent. */
  quantizations?: readonly string[];
  /** A synthetic shape (`7b`): its variants are written under `bench-<shape>` first. */
  shape?: string;
  /** Receives progress lines (synthesis and quantization take minutes at 7b). */
  log?: (line: string) => void;
}

export interface BenchmarkVariants {
  /** `name:tag` of each variant to measure. */
  refs: string[];
  /** Variants this call made (the rest were already stored). */
  created: string[];
  /** Removes the variants this call made. */
  removeCreated(): Promise<void>;
}

/** A progress printer that says each phase once and then every tenth of it, so a log stays short. */
function progressLine(log: (line: string) => void, what: string): (p: SynthProgress) => void {
  let last = "";
  return (p) => {
    const pct = p.total > 0 ? Math.floor((p.done / p.total) * 10) * 10 : 0;
    const line = `${what}: ${p.phase}${p.quantization ? ` ${p.quantization}` : ""} ${pct}%`;
    if (line !== last) log(line);
    last = line;
  };
}

export async function prepareBenchmarkVariants(options: BenchmarkVariantsOptions): Promise<BenchmarkVariants> {
  const { store } = options;
  const log = options.log ?? (() => {});
  const created: string[] = [];
  const result: BenchmarkVariants = {
    refs: [],
    created,
    async removeCreated() {
      for (const ref of created.splice(0)) await store.remove(ref);
    },
  };
  const quants = options.quantizations ? validateQuantizations(options.quantizations, "--quantization") : undefined;

  if (options.shape !== undefined) {
    if (!isModelShapeName(options.shape))
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `--shape: unknown shape ${JSON.stringify(options.shape)} (known: ${MODEL_SHAPE_NAMES.join(", ")})`,
      );
    if (options.model !== undefined) throw new ReflexiaError("RFX_VALIDATION", "give --shape or --model, not both");
    const name = `bench-${options.shape}`;
    const want = quants ?? [...DEFAULT_BENCH_QUANTIZATIONS];
    const have = new Set((await store.variants(name)).map((v) => v.tag));
    const missing = want.filter((q) => !have.has(q));
    if (missing.length > 0) {
      log(`synthesizing ${name} (${options.shape} shape): ${missing.join(", ")}`);
      const r = await store.synth({
        shape: options.shape,
        quant: missing,
        name,
        onProgress: progressLine(log, name),
      });
      created.push(...r.created.map((m) => `${m.name}:${m.tag}`));
    }
    result.refs = want.map((q) => `${name}:${q}`);
    return result;
  }

  const model = options.model ?? options.defaultModel;
  if (model.includes(":")) {
    if (quants) throw new ReflexiaError("RFX_VALIDATION", "--quantization needs a bare model name, not name:tag");
    await store.resolve(model); // RFX_MODEL_NOT_FOUND in the store's words
    result.refs = [model];
    return result;
  }
  const { name } = parseModelRef(model);
  const stored = await store.variants(name);
  if (stored.length === 0) throw new ReflexiaError("RFX_MODEL_NOT_FOUND", `model ${name} not found`, { model: name });
  if (!quants) {
    if (options.model !== undefined) {
      result.refs = stored.map((v) => `${v.name}:${v.tag}`);
      return result;
    }
    const have = new Set(stored.map((v) => v.tag));
    const missing = DEFAULT_BENCH_QUANTIZATIONS.filter((q) => !have.has(q));
    if (missing.length > 0)
      throw new ReflexiaError(
        "RFX_MODEL_NOT_FOUND",
        `the default model ${name} lacks ${missing.join(", ")}; name a model with --model NAME or variants with --quantization`,
        { model: name },
      );
    result.refs = DEFAULT_BENCH_QUANTIZATIONS.map((q) => `${name}:${q}`);
    return result;
  }
  const have = new Set(stored.map((v) => v.tag));
  const missing = quants.filter((q) => !have.has(q));
  if (missing.length > 0) {
    log(`quantizing ${name}: ${missing.join(", ")} (for this run)`);
    const r = await store.quantize(name, missing, { onProgress: progressLine(log, name) });
    created.push(...r.created.map((m) => `${m.name}:${m.tag}`));
    if (r.skipped.some((s) => missing.includes(s.tag as never))) {
      await result.removeCreated();
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `cannot make ${r.skipped.map((s) => `${s.tag} (${s.reason})`).join("; ")}`,
        { model: name },
      );
    }
  }
  result.refs = quants.map((q) => `${name}:${q}`);
  return result;
}
