// Builds what CLI commands share: the loaded config, the model store, the engine and the offline first-run model.
import type { Command } from "commander";
import { loadConfig, type LoadedConfig } from "../config/index.ts";
import type { Engine } from "../engine/types.ts";
import type { createModelStore } from "../registry/index.ts";

export type ModelStore = ReturnType<typeof createModelStore>;

export interface CliContext {
  loaded: LoadedConfig;
  store: ModelStore;
  /** Creates reflexia-tiny on a store with no model, telling the user what it is. */
  ensureDefaultModel(options?: { quiet?: boolean }): Promise<void>;
  /** The inference engine, created on first use (loading native code takes a moment). */
  getEngine(): Promise<Engine>;
}

export type CliContextFactory = (options?: { needsStore?: boolean }) => Promise<CliContext>;

export const DEFAULT_MODEL_NOTICE = (name: string) =>
  `note: no model was in the store, so Reflexia created "${name}" (variants q4_0, q4_k_m, q5_k_m, q8_0, f16).\n` +
  `      It is a SYNTHETIC model with random weights: its text is gibberish. It exists for benchmarking,\n` +
  `      capacity planning and wiring, offline. Add a real model with:\n` +
  `        reflexia models add /path/to/model.gguf --name mymodel     (or: models pull URL --name N, models import-ollama)\n`;

/** Returns a factory reading the program's global options (--config, --home) at call time. */
export function createCliContextFactory(program: Command): CliContextFactory {
  let cached: Promise<CliContext> | undefined;
  return async () => {
    cached ??= (async () => {
      const g = program.opts<{ config?: string; home?: string; threads?: string }>();
      const loaded = loadConfig({ file: g.config, overrides: { home: g.home, "performance.thread_pool_size": g.threads } });
      const { createModelStore } = await import("../registry/index.ts");
      const store = createModelStore({ home: loaded.config.home, defaultQuantization: loaded.config.models.default_quantization, contextSize: loaded.config.models.context_size });
      let engine: Promise<Engine> | undefined;
      return {
        loaded,
        store,
        async ensureDefaultModel(options = {}) {
          const { ensureDefaultModel } = await import("../services/ensure-default-model.ts");
          const created = await ensureDefaultModel(store, loaded.config);
          if (created && !options.quiet) process.stderr.write(DEFAULT_MODEL_NOTICE(loaded.config.models.default));
        },
        getEngine() {
          engine ??= import("../engine/index.ts").then((m) => {
            const e = m.createEngine({ backend: loaded.config.engine.backend, threads: loaded.config.performance.thread_pool_size || undefined, gpu: loaded.config.gpu.backend });
            // An explicit GPU=cuda|vulkan that could not be honoured is said once, on stderr, before any output.
            if (e.gpu && e.gpu.backend === "cpu" && (e.gpu.requested === "cuda" || e.gpu.requested === "vulkan")) process.stderr.write(`warning: ${e.gpu.reason}\n`);
            return e;
          });
          return engine;
        },
      };
    })();
    return cached;
  };
}
