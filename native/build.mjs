// Builds the native decode engine (native/build/Release/reflexia_native.node) with node-gyp, offline.
// Run by `npm install` / `npm ci` (the package's "install" script) and by hand: `node native/build.mjs`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function nodeGypScript() {
  try {
    return require.resolve("node-gyp/bin/node-gyp.js");
  } catch {
    // `npm ci --omit=dev` leaves out our node-gyp; npm ships its own and names it here.
    return process.env.npm_config_node_gyp || null;
  }
}

// Headers and libllama of different llama.cpp releases would compile and then corrupt memory: refuse to build, and
// fail the install, rather than fall back quietly.
try {
  require("./llama-release.cjs").checkLlamaRelease();
} catch (e) {
  console.error(`reflexia: ${e.message}`);
  process.exit(1);
}

const gyp = nodeGypScript();
if (!gyp) {
  console.warn("reflexia: node-gyp not found; the native engine is not built (the node-llama-cpp engine still works).");
  process.exit(0);
}
// Headers from the running Node's own install, so the build never downloads them (this machine is offline).
const prefix = path.resolve(process.execPath, "..", "..");
const args = [gyp, "rebuild", "-C", here];
if (existsSync(path.join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);
const res = spawnSync(process.execPath, args, { stdio: "inherit" });
if (res.status !== 0) {
  console.warn("reflexia: building the native engine failed; `reflexia` falls back to the node-llama-cpp engine.");
  console.warn("reflexia: it needs python3, make and a C++17 compiler; rebuild with `node native/build.mjs`.");
}
process.exit(0);
