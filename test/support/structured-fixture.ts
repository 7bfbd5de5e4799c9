// The live server both structured-output test files run against: the tiny model (q8_0), 4 sequences, a 4096-token
// context and a 200-token default budget, with an `openai` client pointed at it.
import OpenAI from "openai";
import { z } from "zod";
import { startServer, type RunningServer } from "../../src/main.ts";
import { createTinyHome, liveServerConfig, type TinyHome } from "./server-fixture.ts";

export const Person = z.object({ name: z.string(), age: z.number().int(), tags: z.array(z.string()) });
export const Weather = z.object({ city: z.string(), unit: z.enum(["c", "f"]) });

export interface StructuredServer {
  server: RunningServer;
  openai: OpenAI;
  /** The server's model store (a test may add variants while it runs). */
  store: TinyHome["store"];
  close(): Promise<void>;
}

export async function startStructuredServer(): Promise<StructuredServer> {
  const home = await createTinyHome(["q8_0"]);
  const loaded = liveServerConfig(home.home, {
    "scheduler.parallel": 4,
    "models.context_size": 4096,
    "models.default_max_tokens": 200,
  });
  const server = await startServer({ loaded, store: home.store, logger: false });
  await server.ready;
  return {
    server,
    store: home.store,
    openai: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 }),
    async close() {
      await server.close();
      await home.cleanup();
    },
  };
}
