// Synthetic models: a seeded random-weights GGUF of a known shape, quantized into the requested variants.
import { rename, rm } from "node:fs/promises";
import { CONFIG_DEFAULTS, QUANTIZATIONS } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import {
  estimateModelBytes,
  estimateMemoryBytes,
  isModelShapeName,
  MODEL_SHAPES,
  writeSyntheticModel,
} from "../gguf/index.ts";
import { tempPath } from "./atomic-fs.ts";
import { modelExists, type ModelCatalog } from "./model-catalog.ts";
import { assertModelName } from "./parse-model-ref.ts";
import { quantizeFile, validateQuantizations } from "./quantize-variants.ts";
import type {
  EnsureDefaultModelOptions,
  EnsureDefaultModelResult,
  ModelSource,
  SynthEstimate,
  SynthOptions,
  SynthResult,
} from "./types.ts";

/** Writes a synthetic model and adds one variant per requested quantization (or only estimates, with dryRun). */
export async function synthModel(catalog: ModelCatalog, opts: SynthOptions): Promise<SynthResult> {
  if (!isModelShapeName(opts.shape)) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `unknown shape ${JSON.stringify(opts.shape)} (known: tiny, small, 1b, 3b, 7b)`,
      { shape: opts.shape },
    );
  }
  const shape = opts.shape;
  const quants = validateQuantizations(opts.quant, "synth");
  assertModelName(opts.name);
  if (opts.dryRun) {
    const ctx = Math.min(catalog.contextSize, MODEL_SHAPES[shape].nCtx);
    const estimates: SynthEstimate[] = quants.map((q) => ({
      quantization: q,
      estimatedBytes: estimateModelBytes(shape, q),
      estimatedMemoryBytes: estimateMemoryBytes(shape, q, ctx),
      contextSize: ctx,
    }));
    return { dryRun: true, name: opts.name, shape, estimates, created: [] };
  }
  const force = Boolean(opts.force);
  if (!force)
    for (const q of quants) if (await catalog.readManifest(opts.name, q)) throw modelExists(`${opts.name}:${q}`);
  await catalog.ensureDirs();
  const f16 = tempPath(catalog.tmpDir, ".f16.gguf");
  const source: ModelSource = { kind: "synth", from: `${shape} seed=${opts.seed ?? 42}${opts.fim ? " fim" : ""}` };
  try {
    await writeSyntheticModel({
      path: f16,
      shape,
      seed: opts.seed,
      name: opts.name,
      fim: opts.fim,
      onProgress: (done, total) => opts.onProgress?.({ phase: "write", done, total }),
    });
    // f16 goes last so it can be committed by renaming the source file after every quantization read it.
    const ordered = [...quants.filter((q) => q !== "f16"), ...quants.filter((q) => q === "f16")];
    const created = await catalog.produceAndCommit(
      ordered.map((q, i) => ({
        tag: q,
        source,
        produce: async (out: string) => {
          opts.onProgress?.({ phase: "quantize", quantization: q, done: i, total: ordered.length });
          if (q === "f16") await rename(f16, out);
          else
            await quantizeFile(f16, out, q, {
              onProgress: (done, total) =>
                opts.onProgress?.({
                  phase: "quantize",
                  quantization: q,
                  done: i + done / total,
                  total: ordered.length,
                }),
            });
        },
      })),
      opts.name,
      force,
    );
    opts.onProgress?.({ phase: "add", done: created.length, total: created.length });
    return { dryRun: false, name: opts.name, shape, estimates: [], created };
  } finally {
    await rm(f16, { force: true });
  }
}

/** Creates the missing variants of the offline default model; `created` says whether anything was written. */
export async function ensureDefaultModel(
  catalog: ModelCatalog,
  opts: EnsureDefaultModelOptions = {},
): Promise<EnsureDefaultModelResult> {
  const name = opts.name ?? CONFIG_DEFAULTS.models.default;
  const quants = validateQuantizations(opts.quants ?? [...QUANTIZATIONS], "default model");
  const have = new Set((await catalog.variants(name)).map((v) => v.tag));
  const missing = quants.filter((q) => !have.has(q));
  if (missing.length === 0) return { created: false, name, createdTags: [] };
  const r = await synthModel(catalog, {
    shape: opts.shape ?? "tiny",
    quant: missing,
    name,
    seed: opts.seed ?? 42,
    onProgress: opts.onProgress,
  });
  return { created: true, name, createdTags: r.created.map((m) => m.tag) };
}
