// Readiness over a real server whose default model is not in the store: /readyz says it failed and why (not
// "starting" forever), and the API still serves the models the store has.
import { afterAll, expect, it } from "vitest";
import { startServer, type RunningServer } from "../src/main.ts";
import { createTinyHome, liveServerConfig, TINY, type TinyHome } from "./support/server-fixture.ts";

let home: TinyHome | undefined;
let server: RunningServer | undefined;
afterAll(async () => {
  await server?.close();
  await home?.cleanup();
});

it("a default model that is not in the store: /readyz 503 'failed' with a reason to act on; other models still answer", async () => {
  home = await createTinyHome(["q4_0"]);
  server = await startServer({
    loaded: liveServerConfig(home.home, { "models.default": "nosuch" }),
    store: home.store,
    logger: false,
  });
  await expect(server.ready).rejects.toThrow(/nosuch/);
  const rz = await fetch(`${server.url}/readyz`);
  expect(rz.status).toBe(503);
  const body = await rz.json();
  expect(body).toMatchObject({ status: "failed", ready: false });
  expect(body.reason).toMatch(/default model failed to load: .*nosuch.*set DEFAULT_MODEL/);
  const chat = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: TINY, messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
  });
  expect(chat.status).toBe(200);
}, 60_000);
