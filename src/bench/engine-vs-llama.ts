// Paired comparison of the native engine with llama.cpp's own llama-server (aggregate tok/s at N concurrent requests)
// and llama-bench (single-stream decode), same file, same threads, alternating trials so machine load hits both alike.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ReflexiaError } from "../errors/index.ts";
import { loadConfig, type Config } from "../config/index.ts";
import { createNativeEngine, type BatchSplitMode } from "../engine/native/native-engine.ts";
import { freePort } from "./free-port.ts";
import { startedAt } from "./child-server.ts";
import { runLlamaBench } from "./llama-bench.ts";
import { nonTextTokens } from "./non-text-tokens.ts";
import { scriptArgs } from "./script-args.ts";
import { loadBenchModel, checkReferenceSet, describeBenchGpu } from "./gpu-load.ts";

export interface EngineVsLlamaOptions {
  modelPath: string;
  /** llama-server binary built against the same prebuilt libraries (native/tools/build-llama-reference.sh). */
  llamaServer: string;
  /** llama-bench binary from the same build; adds a paired single-stream decode comparison. */
  llamaBench?: string;
  /** Decode threads for both. Defaults to the native engine's thread policy. */
  threads?: number;
  /** Native engine option batchSplit. Defaults to the engine's ("auto"). */
  batchSplit?: BatchSplitMode;
  /** Tokens per request. Defaults to 128. */
  tokens?: number;
  /** Concurrent requests per trial. Defaults to [1, 4, 8]. */
  concurrency?: number[];
  /** Paired trials per concurrency. Defaults to 5. */
  trials?: number;
  /** GPU=… and GPU_LAYERS: the engine places layers as the server would and llama.cpp gets the same -ngl. Defaults to the CPU. */
  config?: Config;
  log?: (line: string) => void;
}

export interface PairedFigure {
  label: string;
  native: number[];
  llama: number[];
  /** Median of native/llama over the pairs. */
  medianRatio: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the paired trials and prints one line per figure; resolves with every sample. */
export async function runEngineVsLlama(options: EngineVsLlamaOptions): Promise<PairedFigure[]> {
  const log = options.log ?? ((l: string) => console.log(l));
  const tokens = options.tokens ?? 128;
  const concurrency = options.concurrency ?? [1, 4, 8];
  const trials = options.trials ?? 5;
  for (const p of [options.modelPath, options.llamaServer, options.llamaBench].filter((x): x is string => !!x))
    if (!existsSync(p)) throw new ReflexiaError("RFX_NOT_FOUND", `not found: ${p}`);
  const parallel = Math.max(...concurrency);
  const perSeq = Math.ceil((tokens + 64) / 256) * 256;

  const engine = createNativeEngine({
    threads: options.threads,
    batchSplit: options.batchSplit,
    gpu: options.config?.gpu.backend ?? "off",
  });
  for (const bin of [options.llamaServer, options.llamaBench].filter((x): x is string => !!x))
    checkReferenceSet(bin, engine.gpu.backend);
  const model = await loadBenchModel(engine, options.config, options.modelPath, {
    contextSize: perSeq * parallel,
    parallel,
    threads: options.threads,
  });
  const threads = model.threads;
  const gpu = describeBenchGpu(engine, model.offload);
  // Both sides offload the same layers: llama.cpp's -ngl counts them as the engine does (output layer included).
  const ngl = String(gpu.gpuLayers);
  // llama-server rejects output that is not valid UTF-8 (random byte tokens of synthetic models): ban the tokens that
  // do not decode to text on their own. The native engine samples without the ban; the work per token is the same.
  const banned = nonTextTokens(model).map((id): [number, false] => [id, false]);

  const port = await freePort();
  const server: ChildProcess = spawn(
    options.llamaServer,
    [
      "-m",
      options.modelPath,
      "-t",
      String(threads),
      "-tb",
      String(threads),
      "-ngl",
      ngl,
      "-np",
      String(parallel),
      "-c",
      String(perSeq * parallel),
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--poll",
      String(engine.poll),
      "--no-warmup",
      "--cache-ram",
      "0",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const url = `http://127.0.0.1:${port}`;
  // The server must not outlive this benchmark, whichever way it ends (startedAt kills it on exit and on a signal).
  let stopServer: (() => void) | undefined;
  try {
    stopServer = await startedAt(server, "llama-server", `${url}/health`);
    log(
      `model ${options.modelPath} (${model.info.fileType}), ${threads} threads, poll ${engine.poll}, ${tokens} tokens per request, ${trials} paired trials`,
    );
    log(
      `compute: ${gpu.backend}${gpu.devices.length ? ` on ${gpu.devices.join(", ")}` : ""}, ${gpu.gpuLayers}/${gpu.totalLayers} layers on the GPU (llama.cpp -ngl ${ngl})`,
    );

    const prompt = (i: number) => `Request ${i}: tell me about the sea`;
    const serverOne = async (i: number): Promise<number> => {
      const r = await fetch(`${url}/completion`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          prompt: prompt(i),
          n_predict: tokens,
          ignore_eos: true,
          seed: i + 1,
          cache_prompt: false,
          logit_bias: banned,
        }),
      });
      const j = (await r.json()) as { tokens_predicted?: number; error?: unknown };
      if (j.tokens_predicted === undefined)
        throw new ReflexiaError("RFX_ENGINE", `llama-server: ${JSON.stringify(j.error)}`);
      return j.tokens_predicted;
    };
    const nativeRun = async (n: number) => {
      const t0 = performance.now();
      const rs = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          model.generate(prompt(i), { maxTokens: tokens, ignoreEos: true, seed: i + 1 }),
        ),
      );
      return (rs.reduce((s, r) => s + r.completionTokens, 0) / (performance.now() - t0)) * 1000;
    };
    const serverRun = async (n: number) => {
      const t0 = performance.now();
      const counts = await Promise.all(Array.from({ length: n }, (_, i) => serverOne(i)));
      return (counts.reduce((s, c) => s + c, 0) / (performance.now() - t0)) * 1000;
    };
    await nativeRun(1);
    await serverOne(0);

    const figures: PairedFigure[] = [];
    for (const n of concurrency) {
      const f: PairedFigure = {
        label: `${n} concurrent aggregate tok/s, native vs llama-server`,
        native: [],
        llama: [],
        medianRatio: 0,
      };
      for (let t = 0; t < trials; t++) {
        // Alternate who goes first, and let the other side's spinning workers go to sleep in between.
        const order = t % 2 === 0 ? ["native", "llama"] : ["llama", "native"];
        for (const who of order) {
          await pause(300);
          if (who === "native") f.native.push(await nativeRun(n));
          else f.llama.push(await serverRun(n));
        }
      }
      figures.push(f);
    }
    if (options.llamaBench) {
      const f: PairedFigure = {
        label: "single-stream decode tok/s, native vs llama-bench tg",
        native: [],
        llama: [],
        medianRatio: 0,
      };
      for (let t = 0; t < trials; t++) {
        await pause(300);
        const r = await model.generate(prompt(0), { maxTokens: tokens, ignoreEos: true, seed: 1 });
        f.native.push(((r.completionTokens - 1) / r.timings.evalMs) * 1000);
        await pause(300);
        const args = [
          "-m",
          options.modelPath,
          "-t",
          String(threads),
          "-ngl",
          ngl,
          "--poll",
          String(engine.poll),
          "-p",
          "0",
          "-n",
          String(tokens),
          "-r",
          "1",
        ];
        f.llama.push(runLlamaBench(options.llamaBench, args).rows[0].avg_ts);
      }
      figures.push(f);
    }
    for (const f of figures) {
      f.medianRatio = median(f.native.map((x, i) => x / f.llama[i]));
      log(
        `${f.label}: native median ${median(f.native).toFixed(1)} (best ${Math.max(...f.native).toFixed(1)}), ` +
          `llama median ${median(f.llama).toFixed(1)} (best ${Math.max(...f.llama).toFixed(1)}), median paired ratio ${f.medianRatio.toFixed(3)}`,
      );
    }
    return figures;
  } finally {
    stopServer?.();
    await engine.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // npx tsx src/bench/engine-vs-llama.ts --model PATH --llama-server BIN [--llama-bench BIN] [--threads N]
  //   [--tokens N] [--concurrency 1,4,8] [--trials N] [--batch-split auto|never|always]
  //   GPU / GPU_LAYERS from the environment or config file, as for the server.
  const { get, num } = scriptArgs();
  runEngineVsLlama({
    modelPath: get("--model") ?? "",
    llamaServer: get("--llama-server") ?? "",
    llamaBench: get("--llama-bench"),
    threads: num("--threads"),
    tokens: num("--tokens"),
    trials: num("--trials"),
    concurrency: get("--concurrency")?.split(",").map(Number),
    batchSplit: get("--batch-split") as BatchSplitMode | undefined,
    config: loadConfig().config,
  }).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  });
}
