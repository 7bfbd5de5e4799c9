#!/usr/bin/env node
// Launches the CLI: the TypeScript sources through tsx in a checkout (no build step while developing), the
// compiled dist/ in an installed package (npm pack ships dist/ and not src/).
import { existsSync } from "node:fs";

const sources = new URL("../src/cli/index.ts", import.meta.url);
if (existsSync(sources)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(sources.href);
} else {
  await import(new URL("../dist/cli/index.js", import.meta.url).href);
}
