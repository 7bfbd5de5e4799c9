// How a quantization name a person or client writes maps to one of QUANTIZATIONS: the one rule the CLI, the HTTP API
// and the model store (so library callers too) share, so Q4_K_M is q4_k_m wherever it is given.
import { ReflexiaError } from "../errors/index.ts";
import { QUANTIZATIONS, type Quantization } from "./keys.ts";

/** `q` in any case, trimmed, as one of QUANTIZATIONS; undefined when it names none. */
export function parseQuantization(q: string): Quantization | undefined {
  const n = q.trim().toLowerCase();
  return (QUANTIZATIONS as readonly string[]).includes(n) ? (n as Quantization) : undefined;
}

/** parseQuantization, refusing a name it does not know with RFX_VALIDATION listing the supported ones. */
export function normalizeQuantization(q: string): Quantization {
  const n = parseQuantization(q);
  if (n === undefined)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `unsupported quantize ${JSON.stringify(q)} (supported: ${QUANTIZATIONS.join(", ")})`,
      { quantize: q },
    );
  return n;
}
