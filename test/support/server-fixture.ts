// Shared setup for server tests: a temp REFLEXIA_HOME holding the tiny synthetic model family, a config for it,
// and an app built by the production wiring (createAppDeps) with whichever engine the test passes.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Quantization } from "../../src/config/index.ts";
import { loadConfig, type Config, type LoadedConfig } from "../../src/config/index.ts";
import type { Engine } from "../../src/engine/types.ts";
import { buildApp, type AppDeps } from "../../src/http/index.ts";
import type { MemoryMonitor } from "../../src/memory/index.ts";
import { createModelStore, type ModelStore } from "../../src/registry/index.ts";
import { createAppDeps } from "../../src/create-app-deps.ts";
import type { CreateServicesOptions, Services } from "../../src/services/create-services.ts";

export const TINY = "reflexia-tiny";

export interface TinyHome {
  home: string;
  store: ModelStore;
  cleanup(): Promise<void>;
}

/** A temp home with `reflexia-tiny` in the given quantizations (seeded, so every run writes the same bytes). */
export async function createTinyHome(quants: Quantization[] = ["q4_0", "q8_0", "f16"]): Promise<TinyHome> {
  const home = await mkdtemp(join(tmpdir(), "rfx-server-"));
  const store = createModelStore({ home, defaultQuantization: "q4_0" });
  await store.synth({ shape: "tiny", quant: quants, name: TINY, seed: 7 });
  return { home, store, cleanup: () => rm(home, { recursive: true, force: true }) };
}

/** Config for tests: no env, no config file; dotted-key overrides on top of defaults. */
export function testConfig(home: string, overrides: Record<string, unknown> = {}): Config {
  return loadConfig({ env: {}, overrides: { home, "models.default": TINY, ...overrides } }).config;
}

/** Config for a real listening server on free loopback ports (pass to startServer); overrides win. */
export function liveServerConfig(home: string, overrides: Record<string, unknown> = {}): LoadedConfig {
  return loadConfig({
    env: {},
    overrides: {
      home,
      "models.default": TINY,
      "server.host": "127.0.0.1",
      "server.port": 0,
      "server.metrics_port": 0,
      "log.level": "warn",
      ...overrides,
    },
  });
}

export interface TestApp {
  app: ReturnType<typeof buildApp>;
  services: Services;
  deps: AppDeps;
}

/**
 * The production wiring (createAppDeps) over the test's store and engine, without RAG, the default-model step or
 * the web UI; memory budget off unless the test passes a monitor.
 */
export async function buildTestApp(options: {
  store: ModelStore;
  engine: Engine;
  config: Config;
  memory?: MemoryMonitor | null;
  apiKeys?: string[];
  ready?: () => boolean;
  services?: Partial<CreateServicesOptions>;
  /** Open the real document store under the config's home (document routes, `rag` requests). Defaults to false. */
  rag?: boolean;
  /** Fastify's logger setting. Defaults to none. */
  logger?: AppDeps["logger"];
}): Promise<TestApp> {
  const { deps, services } = await createAppDeps(options.config, {
    store: options.store,
    engine: options.engine,
    ensureDefaultModel: false,
    rag: options.rag ?? false,
    memory: options.memory ?? null,
    services: options.services,
    apiKeys: options.apiKeys,
    readiness: options.ready
      ? () => ({ ready: options.ready!(), reason: options.ready!() ? undefined : "loading" })
      : undefined,
    version: "test",
    webDir: null,
    logger: options.logger ?? false,
  });
  return { app: buildApp(deps), services, deps };
}

/** Parses an SSE body into its data payloads (JSON-decoded, except the literal [DONE]). */
export function parseSse(body: string): unknown[] {
  return body
    .split("\n\n")
    .map((block) => block.trim())
    .filter((block) => block.startsWith("data: "))
    .map((block) => {
      const data = block.slice("data: ".length);
      return data === "[DONE]" ? "[DONE]" : JSON.parse(data);
    });
}

export function parseNdjson(body: string): Record<string, unknown>[] {
  return body
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what = "condition",
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The code and message of an error body in either shape: native `{error: {code, message}}` or Ollama's
 * `{error: "message", code}` (what Ollama routes send).
 */
export function errorOf(body: unknown): { code?: string; message?: string; ollama: boolean } {
  const b = body as { error?: unknown; code?: unknown };
  if (typeof b?.error === "string") return { code: b.code as string, message: b.error, ollama: true };
  const e = b?.error as { code?: string; message?: string } | undefined;
  return { code: e?.code, message: e?.message, ollama: false };
}
