// A real server process for shutdown tests: startServer with the signal handlers `reflexia serve` installs, over a
// slow fake engine (TOKEN_DELAY_MS a token), so that a stream outlasts a short drain. Config (REFLEXIA_HOME,
// DEFAULT_MODEL, PORT, DRAIN_TIMEOUT_SECONDS, …) comes from the environment as the server's does. Prints
// "listening on URL" to stderr once it listens.
import { startServer } from "../../src/main.ts";
import { createFakeEngine } from "./fake-engine.ts";

const server = await startServer({
  engine: createFakeEngine({ tokenDelayMs: Number(process.env.TOKEN_DELAY_MS ?? 20) }),
  installSignalHandlers: true,
  webDir: null,
  ensureDefaultModel: false,
  rag: false,
});
process.stderr.write(`listening on ${server.url}\n`);
