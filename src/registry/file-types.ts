// Precision order of GGUF file types, so variants sort and the best source for re-quantization is found.
import { ReflexiaError } from "../errors/index.ts";

/** Approximate bits per weight of llama.cpp file types; only the order matters (higher = more precise). */
const BITS_PER_WEIGHT: Record<string, number> = {
  f32: 32,
  f16: 16.01,
  bf16: 16,
  q8_0: 8.5,
  q6_k: 6.56,
  q5_1: 6,
  q5_k_m: 5.69,
  q5_k_s: 5.54,
  q5_0: 5.5,
  q4_1: 5,
  q4_k_m: 4.85,
  q4_k_s: 4.58,
  q4_0: 4.5,
  iq4_nl: 4.5,
  iq4_xs: 4.25,
  mxfp4_moe: 4.25,
  q3_k_l: 4.27,
  q3_k_m: 3.91,
  iq3_m: 3.7,
  q3_k_s: 3.5,
  iq3_s: 3.44,
  iq3_xs: 3.3,
  iq3_xxs: 3.06,
  q2_k: 2.96,
  iq2_m: 2.7,
  q2_k_s: 2.6,
  iq2_s: 2.5,
  iq2_xs: 2.31,
  iq2_xxs: 2.06,
  tq2_0: 2.06,
  iq1_m: 1.75,
  tq1_0: 1.69,
  iq1_s: 1.56,
};

/** Bits per weight of a file type name as readGgufHeader reports it (`q4_k_m`); unknown types rank lowest. */
export function fileTypePrecision(fileType: string): number {
  return BITS_PER_WEIGHT[fileType] ?? 0;
}

/** Whether `tag` names a llama.cpp file type (a quantization), in any case: `Q4_K_M` does. */
export function isQuantizationTag(tag: string): boolean {
  return BITS_PER_WEIGHT[tag.toLowerCase()] !== undefined;
}

/** Sort comparator: lowest precision first, ties by name. */
export function compareByPrecision(a: string, b: string): number {
  return fileTypePrecision(a) - fileTypePrecision(b) || a.localeCompare(b);
}

/** A legal tag derived from a file type name; `unknown(12)` becomes `unknown-12`. */
export function tagFromFileType(fileType: string): string {
  const tag = fileType
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+|-+$/g, "");
  return tag || "latest";
}

/**
 * RFX_VALIDATION when `tag` is a quantization name (any case) other than the file's own type: a tag that names a
 * quantization is the quantization (README: `name:tag` where the tag is the quantization), so `m:q8_0` never holds a
 * q4_0 file. Any other tag (`latest`, `7b-instruct`) is a label and fits every file.
 */
export function assertTagFitsFileType(
  name: string,
  tag: string,
  fileType: string,
  /** How the refusal says to name the fitting tag. Defaults to the CLI's `--tag T (or leave it out)`. */
  advice: (fitting: string) => string = (t) => `--tag ${t} (or leave it out)`,
): void {
  const named = tag.toLowerCase();
  if (!isQuantizationTag(named) || named === fileType.toLowerCase()) return;
  throw new ReflexiaError(
    "RFX_VALIDATION",
    `tag ${JSON.stringify(tag)} names the quantization ${named}, but the file is ${fileType}: use ${advice(tagFromFileType(fileType))}, or a tag that is not a quantization name`,
    { model: `${name}:${tag}`, fileType },
  );
}
