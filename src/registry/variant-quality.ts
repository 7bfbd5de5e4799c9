// Measured quality of stored variants (the quality benchmark's figures against the model's most precise variant),
// kept beside the store in `<home>/models/quality/<name>.json`. Each entry names the digest it was measured on, so a
// variant replaced by other bytes reads as unmeasured rather than inheriting figures that are no longer its own.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic-fs.ts";
import { assertModelName, parseModelRef } from "./parse-model-ref.ts";

export interface VariantQuality {
  /** `sha256:<hex>` of the variant the figures were measured on. */
  digest: string;
  /** The reference variant (`name:tag`) and its quantization. */
  reference: string;
  referenceQuantization: string;
  perplexity: number;
  klMean: number;
  klP99: number;
  top1Agreement: number;
  sameContinuationRate: number;
  measuredAt: string;
}

interface QualityFile {
  version: 1;
  /** By tag. */
  variants: Record<string, VariantQuality>;
}

const fileOf = (home: string, name: string) => join(home, "models", "quality", `${assertModelName(name)}.json`);

async function readFileOf(home: string, name: string): Promise<QualityFile> {
  try {
    const data = JSON.parse(await readFile(fileOf(home, name), "utf8")) as QualityFile;
    if (data?.version === 1 && typeof data.variants === "object" && data.variants !== null) return data;
  } catch {
    // Missing or unreadable: nothing measured (a damaged file must not break `models show` or a request).
  }
  return { version: 1, variants: {} };
}

/** The figures of `name:tag` when they were measured on `digest` (the variant's bytes now); else undefined. */
export async function readVariantQuality(
  home: string,
  ref: string,
  digest: string,
): Promise<VariantQuality | undefined> {
  const { name, tag } = parseModelRef(ref);
  if (!tag) return undefined;
  const q = (await readFileOf(home, name)).variants[tag];
  return q && q.digest === digest ? q : undefined;
}

/** Every measured variant of `name` whose digest still matches (tag → figures), for the variant choice. */
export async function readModelQuality(
  home: string,
  name: string,
  digests: Readonly<Record<string, string>>,
): Promise<Record<string, VariantQuality>> {
  const all = (await readFileOf(home, name)).variants;
  const out: Record<string, VariantQuality> = {};
  for (const [tag, q] of Object.entries(all)) if (digests[tag] === q.digest) out[tag] = q;
  return out;
}

/** What a quality run measured for one variant (the quality benchmark's row). */
export interface MeasuredVariant {
  ref: string;
  digest: string;
  perplexity: number;
  kl: { mean: number; p99: number };
  top1Agreement: number;
  sameContinuationRate: number;
}

/** Stores a quality run's rows (replacing earlier figures of the same tags). */
export async function recordVariantQuality(
  home: string,
  rows: readonly MeasuredVariant[],
  reference: { ref: string; quantization: string },
): Promise<void> {
  const byName = new Map<string, MeasuredVariant[]>();
  for (const r of rows) {
    const { name } = parseModelRef(r.ref);
    byName.set(name, [...(byName.get(name) ?? []), r]);
  }
  const measuredAt = new Date().toISOString();
  for (const [name, list] of byName) {
    const file = await readFileOf(home, name);
    for (const r of list)
      file.variants[parseModelRef(r.ref).tag ?? ""] = {
        digest: r.digest,
        reference: reference.ref,
        referenceQuantization: reference.quantization,
        perplexity: r.perplexity,
        klMean: r.kl.mean,
        klP99: r.kl.p99,
        top1Agreement: r.top1Agreement,
        sameContinuationRate: Number.isFinite(r.sameContinuationRate) ? r.sameContinuationRate : 0,
        measuredAt,
      };
    await writeFileAtomic(fileOf(home, name), JSON.stringify(file, null, 2) + "\n");
  }
}
