// Prints where the prebuilt llama.cpp libraries of node-llama-cpp live, for binding.gyp and the runtime loader.
// Usage: node llama-libs.cjs dir | libs | rpath
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const { checkLlamaRelease, defaultBinsDir } = require("./llama-release.cjs");

const dir = defaultBinsDir();
// binding.gyp runs this before compiling: a header/library release mismatch stops `node-gyp rebuild` here.
checkLlamaRelease({ binsDir: dir });
const files = fs.readdirSync(dir);
// Link only what the addon calls directly; the CPU variants are dlopen()ed by ggml at run time.
const wanted = [/^libllama\.v[\d.]+\.so$/, /^libggml\.v[\d.]+\.so$/, /^libggml-base\.so$/];
const libs = wanted.map((re) => {
  const f = files.find((n) => re.test(n));
  if (!f) throw new Error(`missing ${re} in ${dir}`);
  return f;
});

if (process.argv[2] === "dir") {
  process.stdout.write(dir);
} else {
  // $ORIGIN-relative first so a moved checkout still finds them; the absolute path as a fallback.
  const rel = path.relative(path.join(__dirname, "build", "Release"), dir);
  if (process.argv[2] === "rpath") {
    process.stdout.write(`-Wl,-rpath,'$$ORIGIN/${rel}:${dir}'`);
  } else {
    process.stdout.write([`-L${dir}`, ...libs.map((l) => `-l:${l}`)].join(" "));
  }
}
