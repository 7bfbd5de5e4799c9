// The native build's release guard: vendored headers (native/include) and the linked libllama must come from one
// llama.cpp release, and the headers must be that release's files in node-llama-cpp's bundled source.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const INCLUDE = join(ROOT, "native/include");
const require = createRequire(import.meta.url);
const { checkLlamaRelease, defaultBinsDir } = require("../native/llama-release.cjs") as {
  checkLlamaRelease(dirs?: { includeDir?: string; binsDir?: string }): string;
  defaultBinsDir(): string;
};
const marker = JSON.parse(readFileSync(join(INCLUDE, "RELEASE.json"), "utf8")) as {
  llamaCpp: { repo: string; release: string; commit: string };
  headers: Record<string, string>;
};

const temps: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "rfx-llama-release-"));
  temps.push(d);
  return d;
};
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe("llama.cpp release guard (native/llama-release.cjs)", () => {
  it("passes on this checkout, from the command line too", () => {
    expect(checkLlamaRelease()).toBe(marker.llamaCpp.release);
    const r = spawnSync(process.execPath, [join(ROOT, "native/llama-release.cjs")], { encoding: "utf8" });
    expect(r.status).toBe(0);
  });

  it("refuses libraries built from another release", () => {
    const bins = temp();
    writeFileSync(
      join(bins, "_nlcBuildMetadata.json"),
      JSON.stringify({ buildOptions: { llamaCpp: { repo: marker.llamaCpp.repo, release: "v0.5.0" } } }),
    );
    writeFileSync(join(bins, "libllama.v0.5.0.so"), "");
    expect(() => checkLlamaRelease({ binsDir: bins })).toThrow(
      /headers are ggml-org\/llama\.cpp v0\.4\.0 but the linked libraries were built from ggml-org\/llama\.cpp v0\.5\.0/,
    );
  });

  it("refuses a vendored header that is not the recorded file", () => {
    const include = temp();
    cpSync(INCLUDE, include, { recursive: true });
    writeFileSync(
      join(include, "llama.h"),
      readFileSync(join(include, "llama.h"), "utf8").replace("#define LLAMA_H", "#define LLAMA_H\n// edited"),
    );
    expect(() => checkLlamaRelease({ includeDir: include })).toThrow(/llama\.h is not the v0\.4\.0 file/);
  });

  it("records the headers of node-llama-cpp's bundled source at the linked release", () => {
    const llamaDir = join(ROOT, "node_modules/node-llama-cpp/llama");
    const info = JSON.parse(readFileSync(join(llamaDir, "llama.cpp.info.json"), "utf8")) as {
      tag: string;
      llamaCppGithubRepo: string;
    };
    expect({ release: info.tag, repo: info.llamaCppGithubRepo }).toEqual({
      release: marker.llamaCpp.release,
      repo: marker.llamaCpp.repo,
    });
    expect(
      JSON.parse(readFileSync(join(defaultBinsDir(), "_nlcBuildMetadata.json"), "utf8")).buildOptions.llamaCpp.release,
    ).toBe(marker.llamaCpp.release);
    const bundle = join(llamaDir, "gitRelease.bundle");
    expect(execFileSync("git", ["bundle", "list-heads", bundle], { encoding: "utf8" })).toContain(
      marker.llamaCpp.commit,
    );
    const repo = temp();
    execFileSync("git", ["init", "-q", "--bare", repo]);
    execFileSync("git", ["-C", repo, "fetch", "-q", bundle, "HEAD"]);
    for (const name of Object.keys(marker.headers)) {
      const path = name === "llama.h" ? "include/llama.h" : `ggml/include/${name}`;
      const upstream = execFileSync("git", ["-C", repo, "show", `${marker.llamaCpp.commit}:${path}`]);
      expect(
        readFileSync(join(INCLUDE, name)).equals(upstream),
        `${name} equals ${path} at ${marker.llamaCpp.commit}`,
      ).toBe(true);
    }
  });
});
