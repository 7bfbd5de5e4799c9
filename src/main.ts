// Composition root: config → store → engine → services (scheduler, cache, policy) → http → listen on server.port,
// plus the separate metrics listener on server.metrics_port; SIGTERM drains in-flight requests, then exits.
import { constants as osConstants } from "node:os";
import { pathToFileURL } from "node:url";
import type { FastifyInstance } from "fastify";
import { loadConfig, type Config, type LoadedConfig } from "./config/index.ts";
import { createAppDeps, type AppWiring } from "./create-app-deps.ts";
import { exitNow } from "./engine/exit-now.ts";
import type { Engine } from "./engine/types.ts";
import { isReflexiaError } from "./errors/index.ts";
import { buildApp, shutdownReason, type AppDeps, type Readiness } from "./http/index.ts";
import { createMetricsServer } from "./http/metrics-server.ts";
import { UPLOAD_KEEP_MS, type ModelStore } from "./registry/index.ts";
import type { CreateServicesOptions, Services } from "./services/create-services.ts";
import { createBenchmarkHistory } from "./bench/history.ts";
import { createServerBenchmarks } from "./bench/server-benchmarks.ts";
import { createBenchmarkJobs } from "./services/benchmark-jobs.ts";

export interface StartServerOptions {
  /** Defaults to loadConfig() (env + config file). */
  loaded?: LoadedConfig;
  /** Listen overrides (CLI flags); undefined keeps the config's values. Port 0 picks a free port. */
  overrides?: { port?: number; metricsPort?: number; host?: string };
  /** Defaults to the configured engine backend with performance.thread_pool_size threads. */
  engine?: Engine;
  store?: ModelStore;
  /** Create the offline default model when the store is empty. Defaults to true. */
  ensureDefaultModel?: boolean;
  /** Load the default model at startup (readiness waits for it). Defaults to true. */
  warmUp?: boolean;
  /** SIGTERM/SIGINT drain and exit the process. Defaults to false (tests close explicitly). */
  installSignalHandlers?: boolean;
  /** Web UI directory. Defaults to the repository's web/dist (built by `npm ci` / `npm run build:web`). */
  webDir?: string | null;
  /** Fastify logger setting. Defaults to {level: config.log.level}. */
  logger?: AppDeps["logger"];
  /** Seconds close() waits for in-flight requests before cutting them off. Defaults to `server.drain_timeout_seconds`. */
  drainTimeoutSeconds?: number;
  /** Extra service options (adaptive chooser, memory monitor, embedder). */
  services?: Partial<CreateServicesOptions>;
  /** RAG (document routes, `rag` requests) over the document store under REFLEXIA_HOME; false disables it. */
  rag?: false;
  /**
   * Serve over this wiring (the library's createReflexia) instead of building one: the routes then share its
   * services (scheduler, cache, loaded models), and close() leaves them running (no drain, no engine dispose).
   * store, engine, services, rag, webDir and logger are the wiring's then. Defaults to a wiring of its own.
   */
  wiring?: AppWiring;
}

export interface RunningServer {
  /** http://host:port of the API. */
  url: string;
  /** http://host:port of the metrics listener (scrape `${metricsUrl}/metrics`). */
  metricsUrl: string;
  app: FastifyInstance;
  metricsApp: FastifyInstance;
  services: Services;
  config: Config;
  /** Resolves once the default model is loaded (rejects when the warm-up failed). */
  ready: Promise<void>;
  /** Resolves after close() finished (signal-triggered or explicit). */
  closed: Promise<void>;
  /** Stops admitting, waits for in-flight requests (up to the drain timeout), unloads, closes both listeners. */
  close(): Promise<void>;
}

/**
 * One line on where the layers run and why: info when GPU=… got what it asked for (or auto settled), warn when an
 * explicit GPU=cuda|vulkan fell back to the CPU.
 */
function logGpuChoice(app: FastifyInstance, config: Config, engine: Engine): void {
  const gpu = engine.gpu;
  if (!gpu) {
    if (config.gpu.backend !== "off")
      app.log.warn(
        `GPU=${config.gpu.backend} ignored: the ${engine.name} engine runs on the CPU (GPU offload needs the native engine)`,
      );
    return;
  }
  const fellBack = (gpu.requested === "cuda" || gpu.requested === "vulkan") && gpu.backend === "cpu";
  const line = {
    gpu: {
      requested: gpu.requested,
      backend: gpu.backend,
      devices: gpu.devices.map((d) => d.description),
      layers: config.gpu.layers,
    },
  };
  if (fellBack) app.log.warn(line, `GPU backend: cpu (fallback) — ${gpu.reason}`);
  else app.log.info(line, `GPU backend: ${gpu.backend} — ${gpu.reason}`);
}

function urlOf(address: string): string {
  return address.replace("://[::1]", "://localhost").replace("://0.0.0.0", "://127.0.0.1");
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const loaded = options.loaded ?? loadConfig();
  const config = loaded.config;
  let readiness: Readiness = { ready: false, reason: `loading ${config.models.default}` };
  // Aborted at the drain limit: what still runs is cancelled and told so (streams end with an error event).
  const shutdown = new AbortController();
  const shared = options.wiring;
  const wiring =
    shared ??
    (await createAppDeps(config, {
      store: options.store,
      engine: options.engine,
      ensureDefaultModel: options.ensureDefaultModel,
      rag: options.rag,
      services: options.services,
      readiness: () => readiness,
      webDir: options.webDir,
      logger: options.logger,
      shutdown: shutdown.signal,
      // The server runs benchmarks in the background for /api/benchmarks; bench/ sits above the wiring, so it is
      // composed here.
      benchmarks: ({ store, engine }) => {
        const history = createBenchmarkHistory({ home: config.home });
        return {
          jobs: createBenchmarkJobs({ kinds: createServerBenchmarks({ loaded, store, engine }), store: history }),
          history,
        };
      },
    }));
  const { services } = wiring;
  // A shared wiring answers /readyz and the drain limit for this server.
  const deps: AppDeps = shared
    ? { ...shared.deps, readiness: () => readiness, shutdown: shutdown.signal }
    : wiring.deps;
  const liveMetrics = deps.liveMetrics;
  const benchmarkJobs = deps.benchmarks?.jobs;
  services.memory?.startSampling(2000);

  const app = buildApp(deps);
  logGpuChoice(app, config, wiring.engine);
  const metricsApp = createMetricsServer({
    registry: services.metrics.registry,
    apiKeys: deps.apiKeys?.map((k) => (typeof k === "string" ? k : k.key)),
  });
  const host = options.overrides?.host ?? config.server.host;
  const address = await app.listen({ port: options.overrides?.port ?? config.server.port, host });
  let metricsAddress: string;
  try {
    metricsAddress = await metricsApp.listen({
      port: options.overrides?.metricsPort ?? config.server.metrics_port,
      host,
    });
  } catch (e) {
    await app.close();
    await wiring.close();
    throw e;
  }

  liveMetrics?.start();

  // Uploads no create used (a client that gave up, or a server stopped in between) are deleted at start, as Ollama
  // prunes unused blobs; recent ones stay for a create that follows a restart.
  void wiring.store.uploads
    .prune(UPLOAD_KEEP_MS)
    .then(
      (r) =>
        r.files > 0 &&
        app.log.info(`deleted ${r.files} upload(s) no create used (${Math.round(r.bytes / 2 ** 20)} MiB)`),
    )
    .catch((e: unknown) => app.log.warn({ err: e }, "pruning unused uploads failed"));

  // Warm the default model so the first request does not pay the load; /readyz turns 200 when it is in.
  const ready =
    options.warmUp === false
      ? Promise.resolve().then(() => {
          readiness = { ready: true };
        })
      : (async () => {
          const sel = await services.selector.select(config.models.default, { prompt: "" });
          await services.scheduler.load(`${sel.variant.name}:${sel.variant.tag}`);
          readiness = { ready: true };
        })().catch((e: unknown) => {
          const missing = isReflexiaError(e) && e.code === "RFX_MODEL_NOT_FOUND";
          readiness = {
            ready: false,
            failed: true,
            reason:
              `default model failed to load: ${isReflexiaError(e) ? e.message : String(e)}` +
              (missing ? " (set DEFAULT_MODEL to a model in the store, see `reflexia models list`, and restart)" : ""),
          };
          // No default model in the store is a setup choice the operator fixes with DEFAULT_MODEL, not a fault: one
          // line saying so, where a failed load (a bad file, no memory) is an error with its stack.
          if (missing)
            app.log.warn(
              `warm-up skipped: the default model ${JSON.stringify(config.models.default)} is not in the store; set DEFAULT_MODEL to one that is (\`reflexia models list\`) and restart, or name a model in each request`,
            );
          else app.log.error({ err: e }, "warm-up failed");
          throw e;
        });
  ready.catch(() => {});

  // Requests in flight on the API listener (streams until their last byte): the drain waits for them with the
  // listener still open, so that new requests are answered 503 and /readyz 503 `draining`, not refused a connection.
  let inFlight = 0;
  let noneInFlight: (() => void) | null = null;
  app.server.on("request", (_req, res) => {
    inFlight++;
    res.once("close", () => {
      if (--inFlight === 0) noneInFlight?.();
    });
  });
  const requestsFinished = (): Promise<void> =>
    new Promise<void>((r) => {
      noneInFlight = r;
      if (inFlight === 0) r();
    });

  let closing: Promise<void> | null = null;
  let markClosed!: () => void;
  const closed = new Promise<void>((r) => (markClosed = r));
  const drainTimeoutMs = (options.drainTimeoutSeconds ?? config.server.drain_timeout_seconds) * 1000;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      readiness = { ready: false, reason: "draining", draining: true };
      // A shared scheduler stays open for its owner: the drain waits for this server's requests alone.
      const drained = Promise.all([shared ? undefined : services.scheduler.drain(), requestsFinished()]);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), drainTimeoutMs);
        timer.unref();
      });
      const timedOut = (await Promise.race([drained.then(() => "ok" as const), timeout])) === "timeout";
      clearTimeout(timer);
      if (timedOut) {
        app.log.warn(`drain did not finish within ${drainTimeoutMs / 1000} s; ending the requests still running`);
        // Streams write their final error event and end; generations see the abort at their next token. Give
        // the replies a moment to reach their clients before the listeners and the engine go.
        shutdown.abort(shutdownReason());
        await Promise.race([drained, new Promise((r) => setTimeout(r, 2000).unref())]);
      }
      // Now the listener closes. server.close() drops the keep-alive connections idle at that moment; sweep the
      // ones a late response leaves idle afterwards, which would otherwise hold close() (and the process) open
      // until the client's keep-alive timeout. Past the drain limit, what is still connected has been told.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      sweep.unref();
      if (timedOut) app.server.closeAllConnections();
      await app.close().finally(() => clearInterval(sweep));
      await metricsApp.close();
      liveMetrics?.stop();
      // A benchmark still running holds models on the engine: stop it before the engine goes.
      if (benchmarkJobs?.current()?.status === "running") benchmarkJobs.cancel("current");
      await benchmarkJobs?.idle();
      if (!shared) {
        services.memory?.stop();
        await wiring.close();
      }
      markClosed();
    })();
    return closing;
  };

  if (options.installSignalHandlers) {
    // The first SIGTERM/SIGINT drains, then exits 0; a second one (Ctrl-C twice) exits at once with 128 + the
    // signal's number (130, 143), after ending what still streams with its final error event.
    let draining = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (draining) {
        app.log.warn(`${signal} again: exiting without waiting for the drain`);
        if (!shutdown.signal.aborted) shutdown.abort(shutdownReason());
        // Past the exit handlers: they would wait for native work (a token being sampled), which is what not
        // waiting means. setImmediate lets the streams' final error events be written first.
        setImmediate(() => exitNow(128 + (osConstants.signals[signal] ?? 0)));
        return;
      }
      draining = true;
      app.log.info(
        `${signal}: draining in-flight requests (up to ${drainTimeoutMs / 1000} s; send ${signal} again to exit now)`,
      );
      void close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }

  return {
    url: urlOf(address),
    metricsUrl: urlOf(metricsAddress),
    app,
    metricsApp,
    services,
    config,
    ready,
    closed,
    close,
  };
}

// `tsx src/main.ts` runs the server directly (npm start goes through the CLI's serve command).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  startServer({ installSignalHandlers: true }).then(
    (s) => process.stderr.write(`reflexia listening on ${s.url} · metrics on ${s.metricsUrl}/metrics\n`),
    (e: unknown) => {
      process.stderr.write(`reflexia: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
