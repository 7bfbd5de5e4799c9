// Starts the real Reflexia server (src/main.ts startServer: real engine, real store, tiny synthetic model) on
// free loopback ports for the Prometheus and web UI tests, and tears it down with its temp home.
import { startServer, type RunningServer } from "../src/main.ts";
import type { Quantization } from "../src/config/index.ts";
import { createTinyHome, liveServerConfig, TINY, type TinyHome } from "./support/server-fixture.ts";

export { TINY };

export interface LiveServer {
  server: RunningServer;
  home: TinyHome;
  /** host:port of the metrics listener, as Prometheus wants a target. */
  metricsTarget: string;
  stop(): Promise<void>;
}

export async function startLiveServer(
  overrides: Record<string, unknown> = {},
  quants: Quantization[] = ["q4_0", "q8_0"],
): Promise<LiveServer> {
  const home = await createTinyHome(quants);
  let server: RunningServer | undefined;
  try {
    const loaded = liveServerConfig(home.home, {
      "scheduler.parallel": 2,
      "models.context_size": 1024,
      ...overrides,
    });
    server = await startServer({ loaded, store: home.store, logger: false });
    await server.ready;
  } catch (e) {
    await server?.close().catch(() => {});
    await home.cleanup();
    throw e;
  }
  const s = server;
  return {
    server: s,
    home,
    metricsTarget: new URL(s.metricsUrl).host,
    async stop() {
      await s.close().catch(() => {});
      await home.cleanup();
    },
  };
}
