// vitest global setup: builds the web UI (web/dist) once per run, so the browser tests never serve a stale page.
import { buildWebUi } from "../../scripts/build-web.mjs";

export default async function setup(): Promise<void> {
  await buildWebUi();
}
