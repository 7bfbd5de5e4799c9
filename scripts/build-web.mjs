// Builds the web UI into web/dist with esbuild: web/src/main.ts bundled with its libraries (markdown-it,
// DOMPurify, highlight.js; nothing is fetched at run time), web/src/style.css, and web/index.html copied.
// Run by `npm ci` / `npm install` (the package's install script), `npm start` (prestart), `npm run build:web`
// and the test setup; web/dist is generated, never committed.
import { copyFile, mkdir, rename, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const webDir = path.join(root, "web");

/** Builds into a fresh directory, then swaps it in, so a server never serves half a build. Returns the output dir. */
export async function buildWebUi({ outdir = path.join(webDir, "dist"), minify = true } = {}) {
  const { build } = await import("esbuild");
  const tmp = `${outdir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await build({
      entryPoints: { app: path.join(webDir, "src", "main.ts"), style: path.join(webDir, "src", "style.css") },
      outdir: tmp,
      bundle: true,
      format: "esm",
      target: ["es2022", "chrome110", "firefox110", "safari16"],
      minify,
      sourcemap: "linked",
      legalComments: "linked",
      logLevel: "warning",
      // The page must work offline: any import that is not bundled would be a request at run time.
      external: [],
    });
    await copyFile(path.join(webDir, "index.html"), path.join(tmp, "index.html"));
    await rm(outdir, { recursive: true, force: true });
    await rename(tmp, outdir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return outdir;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // The packed package (npm pack) ships the UI built and no web/src: nothing to do on its install.
  if (!existsSync(path.join(webDir, "src", "main.ts")) && existsSync(path.join(webDir, "dist", "index.html")))
    process.exit(0);
  // The Docker deps stage installs before the sources are copied; the image builds the UI in a later step.
  if (!existsSync(path.join(webDir, "src", "main.ts"))) {
    console.warn("reflexia: web/src is not here; the web UI is not built (run npm run build:web once it is).");
    process.exit(0);
  }
  const out = await buildWebUi();
  console.log(`reflexia: web UI built into ${path.relative(process.cwd(), out) || out}`);
}
