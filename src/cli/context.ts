// Builds what CLI commands share: the loaded config, the model store, the engine and the offline first-run model.
import type { Command } from "commander";
import { loadConfig, type LoadedConfig } from "../config/index.ts";
import type { Engine } from "../engine/types.ts";
import type { ReflexiaClient } from "../client/index.ts";
import type { ModelStore } from "../registry/index.ts";
import { connectServer } from "./connect-server.ts";

export type { ModelStore };

export interface CliContext {
  loaded: LoadedConfig;
  store: ModelStore;
  /** Creates reflexia-tiny on a store with no model, telling the user what it is. */
  ensureDefaultModel(options?: { quiet?: boolean }): Promise<void>;
  /** The inference engine, created on first use (loading native code takes a moment). */
  getEngine(): Promise<Engine>;
  /** The running server's client, or null to run embedded (--local, or none answers); says which on stderr. */
  server(options?: { quiet?: boolean }): Promise<ReflexiaClient | null>;
}

export type CliContextFactory = (options?: { needsStore?: boolean }) => Promise<CliContext>;

/** Returns a factory reading the program's global options (--config, --home) at call time. */
export function createCliContextFactory(program: Command): CliContextFactory {
  let cached: Promise<CliContext> | undefined;
  return async () => {
    cached ??= (async () => {
      const g = program.opts<{ config?: string; home?: string; threads?: string; local?: boolean }>();
      const loaded = loadConfig({
        file: g.config,
        overrides: { home: g.home, "performance.thread_pool_size": g.threads },
      });
      const { createStoreFromConfig } = await import("../registry/index.ts");
      // Held to the server's rule, so a pull or import-ollama run here stores no default every request would fail on.
      const { publishedParameterProblem } = await import("../http/routes/ollama/check-options.ts");
      const store = createStoreFromConfig(loaded.config, { parameterProblem: publishedParameterProblem });
      let engine: Promise<Engine> | undefined;
      let server: Promise<ReflexiaClient | null> | undefined;
      return {
        server(options = {}) {
          server ??= connectServer(loaded.config, { local: g.local, quiet: options.quiet });
          return server;
        },
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
