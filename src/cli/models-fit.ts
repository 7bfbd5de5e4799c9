// `reflexia models fit [MODEL|--shape S]`: per variant, the RAM and VRAM it needs on this machine, the layers
// GPU_LAYERS would offload, and the decode tok/s the measured memory bandwidth allows.
import type { Command } from "commander";
import { toReflexiaError, ReflexiaError } from "../errors/index.ts";
import { isModelShapeName, MODEL_SHAPE_NAMES } from "../gguf/index.ts";
import type { FitReport } from "../services/fit-report.ts";
import type { ModelsCommandContext } from "./models.ts";
import { formatBytes, printJson, reportError, table } from "./output.ts";
import { parseIntOption } from "./parse-options.ts";

interface FitOptions {
  shape?: string;
  context?: number;
  measure: boolean;
  json?: boolean;
}

const GB = (bytesPerSecond: number | null) =>
  bytesPerSecond === null ? "not measured" : `${(bytesPerSecond / 1e9).toFixed(1)} GB/s`;

function printReport(r: FitReport): void {
  const lines = [
    `${r.target}, context ${r.contextSize}${r.requestedContextSize ? ` (${r.requestedContextSize} asked for: a load caps it at the model's trained context)` : ""}, GPU_LAYERS=${r.gpuLayersSetting}`,
    `compute: ${r.backend} — ${r.reason}`,
    `RAM: ${formatBytes(r.freeRamBudgetBytes)} free within MAX_MEMORY_PERCENT${r.backend === "cpu" ? "" : `; VRAM: ${formatBytes(r.availableVramBytes)} available (free minus the safety margin, within MAX_VRAM_PERCENT)`}`,
    `bandwidth (ggml copy, this run): CPU ${GB(r.bandwidth.cpuBytesPerSecond)}${r.backend === "cpu" ? "" : `, GPU ${GB(r.bandwidth.gpuBytesPerSecond)}`}`,
    "",
    table(
      r.rows.map((x) =>
        x.kind === "remote"
          ? { variant: x.variant, file: "remote", ram: "-", vram: "-", "gpu layers": "-", "decode tok/s (bound)": "-" }
          : {
              variant: x.variant,
              file: formatBytes(x.fileBytes),
              ram: `${formatBytes(x.ramBytes)}${x.fitsRam ? "" : " (over budget)"}`,
              vram: x.vramBytes > 0 ? `${formatBytes(x.vramBytes)}${x.fitsVram ? "" : " (does not fit)"}` : "-",
              "gpu layers": `${x.gpuLayers}/${x.totalLayers}`,
              "decode tok/s (bound)": x.decodeTokensPerSecond === null ? "-" : x.decodeTokensPerSecond.toFixed(1),
            },
      ),
    ),
    ...(r.rows.some((x) => x.kind === "remote")
      ? ["remote: served by its upstream endpoints through `reflexia serve`; it takes no memory on this machine."]
      : []),
    "",
    "decode tok/s (bound): one stream at an empty context, every weight read once per token at the measured bandwidth.",
    "It is an upper bound for models far larger than the CPU caches; `reflexia benchmark engine` measures the real rate.",
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

export function registerModelsFitCommand(models: Command, getContext: () => Promise<ModelsCommandContext>): void {
  models
    .command("fit")
    .argument("[model]", "a stored model (every variant) or name:tag")
    .option(
      "--shape <shape>",
      `a model shape instead of a stored model (${MODEL_SHAPE_NAMES.join(", ")}): the answer before a download`,
    )
    .option(
      "--context <n>",
      "context cells to plan for (default: models.context_size)",
      parseIntOption("--context", 16, 1 << 20),
    )
    .option("--no-measure", "skip the bandwidth measurement (no tok/s column)")
    .option("--json", "machine-readable output")
    .description("Which quantization fits this machine: RAM / VRAM per variant, GPU layers, decode tok/s bound")
    .action(async (model: string | undefined, opts: FitOptions) => {
      try {
        if ((model === undefined) === (opts.shape === undefined))
          throw new ReflexiaError("RFX_VALIDATION", "models fit needs a MODEL or --shape (one of them)");
        if (opts.shape !== undefined && !isModelShapeName(opts.shape))
          throw new ReflexiaError(
            "RFX_VALIDATION",
            `--shape: unknown shape ${JSON.stringify(opts.shape)} (known: ${MODEL_SHAPE_NAMES.join(", ")})`,
          );
        const { config, store } = await getContext();
        const [{ createEngine }, { buildFitReport }, { measureEngineBandwidth }] = await Promise.all([
          import("../engine/index.ts"),
          import("../services/fit-report.ts"),
          import("../services/measure-bandwidth.ts"),
        ]);
        const engine = createEngine({
          backend: config.engine.backend,
          threads: config.performance.thread_pool_size || undefined,
          gpu: config.gpu.backend,
        });
        try {
          const bandwidth = opts.measure ? await measureEngineBandwidth(engine) : {};
          const report = await buildFitReport({
            config,
            target: opts.shape !== undefined ? { shape: opts.shape as never } : { ref: model!, store },
            gpu: engine.gpu,
            bandwidth,
            contextSize: opts.context,
          });
          if (opts.json) printJson(report);
          else printReport(report);
        } finally {
          await engine.dispose();
        }
      } catch (e) {
        reportError(toReflexiaError(e));
      }
    });
}
