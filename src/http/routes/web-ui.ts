// Serves the web UI's page at each of its view paths (/models, /metrics, …) besides / (the static index), so
// links and reloads land on the view; the page then routes by the same table (web-views.ts).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { PUBLIC_ROUTE } from "../route-access.ts";
import { WEB_VIEW_ALIASES, WEB_VIEWS } from "../web-views.ts";

export function registerWebViewRoutes(app: FastifyInstance, webDir: string): void {
  const paths = [...WEB_VIEWS.map((v) => v.path).filter((p) => p !== "/"), ...Object.keys(WEB_VIEW_ALIASES)];
  for (const path of paths) {
    // The page is the UI itself, not an API: it loads without a key and asks for one when the API does.
    app.get(path, { config: PUBLIC_ROUTE }, async (_request, reply) =>
      reply
        .type("text/html; charset=utf-8")
        .header("cache-control", "no-cache")
        .send(await readFile(join(webDir, "index.html"))),
    );
  }
}
