// Checks that the vendored llama.cpp headers (native/include) and the prebuilt libllama the addon links come from
// the same llama.cpp release; the build refuses to go on when they do not (a struct or enum that moved between
// releases compiles fine and corrupts memory at run time).
// Usage: node llama-release.cjs   (prints the release, exits 1 with the reason on a mismatch)
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const RELEASE_FILE = "RELEASE.json";

function sha256(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** The bins directory of the prebuilt platform package node-llama-cpp installed for this machine. */
function defaultBinsDir() {
  // The package exports only its entry (dist/index.js); its root is two levels up.
  const entry = require.resolve(`@node-llama-cpp/${process.platform}-${process.arch}`, { paths: [__dirname] });
  return path.join(path.dirname(path.dirname(entry)), "bins", `${process.platform}-${process.arch}`);
}

/**
 * Throws when the headers differ from what include/RELEASE.json records, or when the linked libllama was built from
 * another release (its build metadata, or the version in its file name). Returns the common release.
 * @param {{ includeDir?: string, binsDir?: string }} [dirs]
 */
function checkLlamaRelease(dirs = {}) {
  const includeDir = dirs.includeDir ?? path.join(__dirname, "include");
  const binsDir = dirs.binsDir ?? defaultBinsDir();
  const marker = JSON.parse(fs.readFileSync(path.join(includeDir, RELEASE_FILE), "utf8"));
  const want = marker.llamaCpp;
  const problems = [];

  for (const [name, hash] of Object.entries(marker.headers)) {
    const file = path.join(includeDir, name);
    if (!fs.existsSync(file)) problems.push(`vendored header ${name} is missing`);
    else if (sha256(file) !== hash)
      problems.push(
        `vendored header ${name} is not the ${want.release} file ${RELEASE_FILE} records (edited, or copied from another release)`,
      );
  }
  const unlisted = fs.readdirSync(includeDir).filter((f) => f.endsWith(".h") && !(f in marker.headers));
  if (unlisted.length) problems.push(`headers not recorded in ${RELEASE_FILE}: ${unlisted.join(", ")}`);

  const metaFile = path.join(binsDir, "_nlcBuildMetadata.json");
  const built = fs.existsSync(metaFile)
    ? JSON.parse(fs.readFileSync(metaFile, "utf8")).buildOptions?.llamaCpp
    : undefined;
  if (!built) problems.push(`${metaFile} does not say which llama.cpp release the prebuilt libraries come from`);
  else if (built.release !== want.release || built.repo !== want.repo) {
    problems.push(
      `the headers are ${want.repo} ${want.release} but the linked libraries were built from ${built.repo} ${built.release}`,
    );
  }
  const lib = fs.readdirSync(binsDir).find((f) => /^libllama\.v[\d.]+\.(so|dylib)$/.test(f));
  const libRelease = lib && `v${lib.replace(/^libllama\.v/, "").replace(/\.(so|dylib)$/, "")}`;
  if (lib && libRelease !== want.release)
    problems.push(`the headers are ${want.release} but the linked library is ${lib}`);

  if (problems.length) {
    const e = new Error(
      `llama.cpp release mismatch:\n  - ${problems.join("\n  - ")}\n` +
        `Update native/include from node-llama-cpp's bundled source (native/include/README.md says how) together with node-llama-cpp, never alone.`,
    );
    e.code = "RFX_LLAMA_RELEASE_MISMATCH";
    throw e;
  }
  return want.release;
}

module.exports = { checkLlamaRelease, defaultBinsDir, RELEASE_FILE };

if (require.main === module) {
  try {
    process.stdout.write(`llama.cpp ${checkLlamaRelease()}: vendored headers and linked libllama agree\n`);
  } catch (e) {
    process.stderr.write(`reflexia: ${e.message}\n`);
    process.exit(1);
  }
}
