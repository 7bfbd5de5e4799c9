// Quantizes GGUF models with llama.cpp's own llama_model_quantize, in a child process so native aborts and
// llama.cpp's logging stay out of the server, and the event loop never blocks.
import { spawn } from "node:child_process";
import { rename, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { QUANTIZATIONS, type Quantization } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import { LLAMA_FTYPE_BY_NAME, readGgufHeader } from "../gguf/index.ts";
import { resolveLlamaLibraryPath } from "./llama-library.ts";
import type { QuantizeChildArgs } from "./quantize-child.ts";

export interface QuantizeModelOptions {
  /** Source GGUF (f32, f16 or bf16 weights). */
  input: string;
  /** Destination; written to a temporary sibling, checked, then renamed into place. */
  output: string;
  type: Quantization;
  /** Quantizer threads; 0 or undefined lets llama.cpp use every core. */
  threads?: number;
  /** Allow an already-quantized source (quality compounds its loss). Defaults to false. */
  allowRequantize?: boolean;
  /** Progress from llama.cpp's per-tensor log: tensors done and the total. */
  onProgress?: (tensorsDone: number, tensorCount: number) => void;
  /** Aborting kills the quantizer and removes the partial output. */
  signal?: AbortSignal;
}

// Weight types llama.cpp quantizes from without allow_requantize.
const UNQUANTIZED_SOURCES = new Set(["f32", "f16", "bf16"]);
// The child beside this module: quantize-child.ts under tsx in a checkout, quantize-child.js in the built package.
const COMPILED = import.meta.url.endsWith(".js");
const CHILD = fileURLToPath(new URL(COMPILED ? "./quantize-child.js" : "./quantize-child.ts", import.meta.url));

/** Writes `output` as `type`; throws RFX_NOT_FOUND / RFX_INVALID_GGUF / RFX_VALIDATION for bad input, RFX_ENGINE if llama.cpp fails. */
export async function quantizeModel(options: QuantizeModelOptions): Promise<void> {
  const { input, output, type } = options;
  if (!(QUANTIZATIONS as readonly string[]).includes(type)) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `unknown quantization "${type}" (choose one of ${QUANTIZATIONS.join(", ")})`,
    );
  }
  const threads = options.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0)
    throw new ReflexiaError("RFX_VALIDATION", `threads must be a non-negative integer (got ${threads})`);
  // Validate in JS first: llama.cpp may abort the process on malformed files instead of returning an error.
  const header = await readGgufHeader(input);
  if (!UNQUANTIZED_SOURCES.has(header.fileType) && !options.allowRequantize) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${input}: source is already ${header.fileType}; quantize from an f32/f16/bf16 file or pass allowRequantize`,
    );
  }
  if (header.architecture === "unknown")
    throw new ReflexiaError("RFX_INVALID_GGUF", `${input}: general.architecture is missing`);
  const outDir = await stat(dirname(resolve(output))).catch(() => null);
  if (!outDir?.isDirectory()) throw new ReflexiaError("RFX_VALIDATION", `${output}: its directory does not exist`);

  const partial = `${output}.partial-${process.pid}-${Date.now()}`;
  const args: QuantizeChildArgs = {
    library: resolveLlamaLibraryPath(),
    input: resolve(input),
    output: resolve(partial),
    ftype: LLAMA_FTYPE_BY_NAME.get(type)!,
    threads,
    allowRequantize: options.allowRequantize ?? false,
    parentPid: process.pid,
  };
  try {
    await runChild(args, header.tensorCount, options);
    const written = await readGgufHeader(partial);
    if (written.fileType !== type) {
      throw new ReflexiaError("RFX_ENGINE", `llama.cpp wrote ${written.fileType} instead of ${type} for ${input}`);
    }
    await rename(partial, output);
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
}

function runChild(args: QuantizeChildArgs, tensorCount: number, options: QuantizeModelOptions): Promise<void> {
  const loader = COMPILED ? [] : ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm")).href];
  return new Promise((done, reject) => {
    if (options.signal?.aborted) return reject(cancelled());
    const child = spawn(process.execPath, [...loader, CHILD, JSON.stringify(args)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    let tensorsDone = 0;
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      log = (log + chunk).slice(-64 * 1024);
      // llama.cpp logs "[   3/  21] name - [..], type = f16, converting to q4_0 .. size = …" once per tensor.
      for (const m of chunk.matchAll(/\[\s*(\d+)\/\s*(\d+)\]/g)) {
        const n = Number(m[1]);
        if (n > tensorsDone) {
          tensorsDone = n;
          options.onProgress?.(tensorsDone, Number(m[2]) || tensorCount);
        }
      }
    });
    const onAbort = () => child.kill("SIGKILL");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) =>
      reject(new ReflexiaError("RFX_ENGINE", `cannot start the quantizer: ${e.message}`, undefined, { cause: e })),
    );
    child.on("close", (code, sig) => {
      options.signal?.removeEventListener("abort", onAbort);
      if (options.signal?.aborted) return reject(cancelled());
      if (code === 0) return done();
      const reason = lastError(log) ?? (sig ? `killed by ${sig}` : `exit code ${code}`);
      reject(
        new ReflexiaError("RFX_ENGINE", `quantizing ${args.input} to ${options.type} failed: ${reason}`, {
          log: log.slice(-4000),
        }),
      );
    });
  });
}

function lastError(log: string): string | undefined {
  const lines = log.split("\n").filter((l) => /failed|error|RFX_LAYOUT|abort/i.test(l));
  return lines.at(-1)?.trim();
}

const cancelled = () => new ReflexiaError("RFX_CANCELLED", "quantization cancelled");
