// Prints where the prebuilt llama.cpp libraries of node-llama-cpp live, for binding.gyp, the runtime loader and the
// reference builder. Usage: node llama-libs.cjs dir|libs|rpath [cpu|cuda|vulkan]   (default cpu: what the addon links)
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const { checkLlamaRelease, defaultBinsDir } = require("./llama-release.cjs");

const SETS = { cpu: "", cuda: "-cuda", vulkan: "-vulkan" };

/** The bins directory of a library set: the CPU one the addon links, or a GPU set (the reference builder's --gpu). */
function binsDir(set) {
  if (!(set in SETS)) throw new Error(`unknown library set ${set} (known: ${Object.keys(SETS).join(", ")})`);
  if (set === "cpu") return defaultBinsDir();
  // The package exports only its entry (dist/index.js); its root is two levels up.
  const pkg = `@node-llama-cpp/${process.platform}-${process.arch}${SETS[set]}`;
  const entry = require.resolve(pkg, { paths: [__dirname] });
  return path.join(path.dirname(path.dirname(entry)), "bins", `${process.platform}-${process.arch}${SETS[set]}`);
}

const set = process.argv[3] || "cpu";
const dir = binsDir(set);
// binding.gyp runs this before compiling: a header/library release mismatch stops `node-gyp rebuild` here.
checkLlamaRelease({ binsDir: dir });
const files = fs.readdirSync(dir);
// Link only what the addon calls directly; the CPU variants (and a GPU set's backend module) are dlopen()ed by ggml
// at run time. A GPU set names its libraries libllama.<set>.v*.so (their code is the CPU set's: see README.md).
const tag = set === "cpu" ? "" : `\\.${set}`;
const wanted = [
  new RegExp(`^libllama${tag}\\.v[\\d.]+\\.so$`),
  new RegExp(`^libggml${tag}\\.v[\\d.]+\\.so$`),
  /^libggml-base\.so$/,
];
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
