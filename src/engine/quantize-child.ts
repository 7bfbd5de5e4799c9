// Child-process entry that runs llama.cpp's llama_model_quantize through koffi, isolated from the server process.
// Run as: node --import tsx/esm quantize-child.ts '<json QuantizeChildArgs>'; exit 0 on success, llama.cpp logs on stderr.
import koffi from "koffi";

export interface QuantizeChildArgs {
  library: string;
  input: string;
  output: string;
  ftype: number;
  threads: number;
  allowRequantize: boolean;
  /** The process that started this one: when it dies (kill -9 of the server) this one is killed with it. */
  parentPid: number;
}

const PR_SET_PDEATHSIG = 1; // <linux/prctl.h>
const SIGKILL = 9;

/**
 * On Linux, asks the kernel to kill this process when its parent dies: the quantizer (minutes of every core and
 * gigabytes of a temporary file for a large model) must not run on for a server that was killed. False when the
 * parent is already gone.
 */
function dieWithParent(parentPid: number): boolean {
  if (process.platform !== "linux") return true;
  const prctl = koffi
    .load("libc.so.6")
    .func("int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)");
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // The parent may have died before the request took effect: then this one was reparented already.
  return process.ppid === parentPid;
}

const GGML_TYPE_COUNT = 43; // enum ggml_type of the bundled llama.cpp; the defaults below must read it back
const QUANT_MAX_BUF_SIZE = 8n * 1024n * 1024n * 1024n;

function main(): number {
  const args = JSON.parse(process.argv[2] ?? "{}") as QuantizeChildArgs;
  if (!dieWithParent(args.parentPid)) return 4;
  const lib = koffi.load(args.library);
  // Field order and types of `struct llama_model_quantize_params` in include/llama.h of the llama.cpp release that
  // node-llama-cpp 3.21.1 bundles (enums are C ints); koffi applies the C alignment rules.
  koffi.struct("llama_model_quantize_params", {
    nthread: "int32_t",
    ftype: "int",
    output_tensor_type: "int",
    token_embedding_type: "int",
    allow_requantize: "bool",
    quantize_output_tensor: "bool",
    only_copy: "bool",
    pure: "bool",
    keep_split: "bool",
    dry_run: "bool",
    imatrix: "void *",
    kv_overrides: "void *",
    tt_overrides: "void *",
    prune_layers: "void *",
    max_buf_size: "size_t",
  });
  const backendInit = lib.func("void llama_backend_init(void)");
  const defaults = lib.func("llama_model_quantize_params llama_model_quantize_default_params(void)");
  const quantize = lib.func(
    "uint32_t llama_model_quantize(const char *fname_inp, const char *fname_out, const llama_model_quantize_params *params)",
  );

  const params = defaults() as Record<string, unknown>;
  // A layout mismatch would hand llama.cpp garbage; the known defaults prove the struct matches the binary.
  if (
    params.ftype !== 7 ||
    params.output_tensor_type !== GGML_TYPE_COUNT ||
    params.token_embedding_type !== GGML_TYPE_COUNT ||
    params.quantize_output_tensor !== true ||
    BigInt(params.max_buf_size as number | bigint) !== QUANT_MAX_BUF_SIZE
  ) {
    process.stderr.write(
      `RFX_LAYOUT: llama_model_quantize_params defaults do not match the expected layout: ${JSON.stringify(params, (_k, v) => (typeof v === "bigint" ? String(v) : v))}\n`,
    );
    return 3;
  }
  backendInit();
  params.ftype = args.ftype;
  params.nthread = args.threads;
  params.allow_requantize = args.allowRequantize;
  return quantize(args.input, args.output, params) === 0 ? 0 : 1;
}

process.exitCode = main();
