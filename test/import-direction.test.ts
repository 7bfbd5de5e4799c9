// Dependencies point down only: every relative import in src/ goes to the same layer or a lower one of src/layers.ts,
// and no two modules import each other in a cycle.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { LAYERS, ROOT_FILE_LAYERS, type Layer } from "../src/layers.ts";

const SRC = resolve(import.meta.dirname, "../src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** The layer a file of src/ belongs to: its top directory, or ROOT_FILE_LAYERS for files directly in src/. */
function layerOf(file: string): string {
  const parts = relative(SRC, file).split("/");
  return parts.length === 1 ? (ROOT_FILE_LAYERS[parts[0]] ?? `src/${parts[0]} (not in ROOT_FILE_LAYERS)`) : parts[0];
}

/** Relative imports of a file (static, re-exports, type-only and dynamic import()), resolved to paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((s) => s.startsWith("."))
    .map((s) => resolve(dirname(file), s));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => t.startsWith(SRC + "/"))]));
const rank = (layer: string) => LAYERS.indexOf(layer as Layer);

describe("import direction (src/layers.ts)", () => {
  it("knows the layer of every directory in src/", () => {
    const unknown = [...new Set(files.map(layerOf))].filter((l) => rank(l) < 0);
    expect(unknown, "add these directories (or root files) to src/layers.ts, in their place").toEqual([]);
  });

  it("has no import from a lower layer up to a higher one", () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (rank(layerOf(target)) > rank(layerOf(file))) {
          upward.push(
            `${relative(SRC, file)} (${layerOf(file)}) imports ${relative(SRC, target)} (${layerOf(target)})`,
          );
        }
      }
    }
    expect(upward).toEqual([]);
  });

  it("has no import cycle between modules", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, "open");
      stack.push(f);
      for (const t of graph.get(f) ?? []) {
        if (!graph.has(t)) continue;
        if (state.get(t) === "open")
          cycles.push(
            stack
              .slice(stack.indexOf(t))
              .concat(t)
              .map((p) => relative(SRC, p))
              .join(" → "),
          );
        else if (!state.has(t)) visit(t);
      }
      stack.pop();
      state.set(f, "done");
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it("resolves every relative import to a file (so a typo cannot hide an edge)", () => {
    const missing = [...graph].flatMap(([f, ts]) =>
      ts.filter((t) => !graph.has(t)).map((t) => `${relative(SRC, f)} → ${relative(SRC, t)}`),
    );
    expect(missing).toEqual([]);
  });
});
