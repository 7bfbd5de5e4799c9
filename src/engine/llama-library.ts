// Locates the prebuilt llama.cpp packages node-llama-cpp installs: the CPU libllama, and the GPU sets' folders.
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ReflexiaError } from "../errors/index.ts";

const LIB_PATTERN: Record<string, RegExp> = {
  linux: /^libllama(\.v[\d.]+)?\.so$/,
  darwin: /^libllama(\.v[\d.]+)?\.dylib$/,
  win32: /^llama\.dll$/,
};

/**
 * Root folder of an installed `@node-llama-cpp/<platform>-<arch><suffix>` package ("" the CPU build, "-cuda",
 * "-cuda-ext", "-vulkan"), or undefined when npm did not install it (optional dependencies of node-llama-cpp).
 */
export function prebuiltPackageRoot(suffix = ""): string | undefined {
  const pkg = `@node-llama-cpp/${process.platform}-${process.arch}${suffix}`;
  const require = createRequire(import.meta.url);
  // The platform package is an optional dependency of node-llama-cpp: hoisted, or nested under it. Its exports
  // hide package.json, so resolve its entry point and walk up to the directory holding its package.json.
  for (const from of [import.meta.url, safeResolve(require, "node-llama-cpp")]) {
    const entry = from && safeResolve(createRequire(from), pkg);
    if (!entry) continue;
    for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
      if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "bins"))) return dir;
    }
  }
  return undefined;
}

/**
 * Absolute path of the CPU build of libllama inside the `bins` folder of `@node-llama-cpp/<platform>-<arch>`; its sibling libggml*
 * files are found through the library's $ORIGIN runpath, so loading it by absolute path is enough.
 */
export function resolveLlamaLibraryPath(): string {
  const pkgRoot = prebuiltPackageRoot();
  if (!pkgRoot)
    throw new ReflexiaError(
      "RFX_ENGINE",
      `prebuilt llama.cpp binaries not installed (@node-llama-cpp/${process.platform}-${process.arch} is missing; run npm ci)`,
    );
  const pattern = LIB_PATTERN[process.platform];
  const binsDir = join(pkgRoot, "bins");
  const candidates = existsSync(binsDir) ? readdirSync(binsDir).map((d) => join(binsDir, d)) : [];
  for (const dir of candidates) {
    const lib = pattern && safeReaddir(dir).find((f) => pattern.test(f));
    if (lib) return join(dir, lib);
  }
  throw new ReflexiaError("RFX_ENGINE", `no libllama found under ${binsDir}`);
}

function safeResolve(require: NodeRequire, id: string): string | undefined {
  try {
    return require.resolve(id);
  } catch {
    return undefined;
  }
}

/** readdirSync, or [] for a folder that is not there. */
export function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
