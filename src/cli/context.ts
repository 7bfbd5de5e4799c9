// Builds what CLI commands share: the loaded config, the model store, the engine and the offline first-run model.
import type { Command } from "commander";
import { loadConfig, type LoadedConfig } from "../config/index.ts";
import type { Engine } from "../engine/types.ts";
import type { ModelStore } from "../registry/index.ts";

export type { ModelStore };

export interface CliContext {
  loaded: LoadedConfig;
  store: ModelStore;
  /** Creates reflexia-tiny on a store with no model, telling the user what it is. */
  ensureDefaultModel(options?: { quiet?: boolean }): Promise<void>;
  /** The inference engine, created on first use (loading native code takes a moment). */
  getEngine(): Promise<Engine>;
}

export type CliContextFactory = (options?: { needsStore?: boolean }) => Promise<CliContext>;

/** Returns a factory reading the program's global options (--config, --home) at call time. */
export function createCliContextFactory(program: Command): CliContextFactory {
  let cached: Promise<CliContext> | undefined;
  return async () => {
    cached ??= (async () => {
      const g = program.opts<{ config?: string; home?: string; threads?: string }>();
      const loaded = loadConfig({
        file: g.config,
        overrides: { home: g.home, "performance.thread_pool_size": g.threads },
      });
      const { createStoreFromConfig } = await import("../registry/index.ts");
      const store = createStoreFromConfig(loaded.config);
      let engine: Promise<Engine> | undefined;
      return {
        loaded,
        store,
        async ensureDefaultModel(options = {}) {
          const { ensureDefaultModel } = await import("../services/default-model.ts");
          await ensureDefaultModel(store, loaded.config, {
            onNotice: options.quiet ? undefined : (n) => process.stderr.write(n),
          });
        },
        getEngine() {
          engine ??= import("../engine/index.ts").then((m) => {
            const e = m.createEngineFromConfig(loaded.config);
            // An explicit GPU=cuda|vulkan that could not be honoured is said once, on stderr, before any output.
            if (e.gpu && e.gpu.backend === "cpu" && (e.gpu.requested === "cuda" || e.gpu.requested === "vulkan"))
              process.stderr.write(`warning: ${e.gpu.reason}\n`);
            return e;
          });
          return engine;
        },
      };
    })();
    return cached;
  };
}
