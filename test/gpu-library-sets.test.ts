// The premise of "one addon, several library sets": node-llama-cpp's CPU, CUDA and Vulkan builds of one llama.cpp
// release share libllama / libggml / libggml-base code byte for byte (only sonames differ), so the addon, linked to
// the CPU set, runs any set by registering that set's backend module. A node-llama-cpp upgrade that breaks this
// fails here, before a GPU user sees a symbol mismatch.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { backendModules, GPU_BACKENDS } from "../src/engine/gpu/library-sets.ts";
import { prebuiltPackageRoot, resolveLlamaLibraryPath } from "../src/engine/llama-library.ts";

/** The bytes of the named sections of an ELF64 little-endian shared object. */
function elfSections(path: string, names: string[]): Map<string, Buffer> {
  const b = readFileSync(path);
  expect(b.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const shstrndx = b.readUInt16LE(0x3e);
  const header = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      name: b.readUInt32LE(o),
      offset: Number(b.readBigUInt64LE(o + 0x18)),
      size: Number(b.readBigUInt64LE(o + 0x20)),
    };
  };
  const strtab = header(shstrndx);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const start = strtab.offset + h.name;
    const name = b.toString("latin1", start, b.indexOf(0, start));
    if (names.includes(name)) out.set(name, b.subarray(h.offset, h.offset + h.size));
  }
  return out;
}

const SECTIONS = [".text", ".rodata", ".data"];
const cpuDir = process.platform === "linux" && process.arch === "x64" ? dirname(resolveLlamaLibraryPath()) : undefined;

describe.skipIf(!cpuDir)("prebuilt library sets (linux-x64)", () => {
  for (const backend of GPU_BACKENDS) {
    it(`the ${backend} set shares the CPU set's libllama, libggml and libggml-base code`, () => {
      const root = prebuiltPackageRoot(`-${backend}`);
      expect(root, `@node-llama-cpp/linux-x64-${backend} is installed by npm ci`).toBeDefined();
      const dir = join(root!, "bins", `linux-x64-${backend}`);
      const files = readdirSync(dir);
      for (const [cpuName, re] of [
        ["libllama.v0.4.0.so", new RegExp(`^libllama\\.${backend}\\.v[\\d.]+\\.so$`)],
        ["libggml.v0.4.0.so", new RegExp(`^libggml\\.${backend}\\.v[\\d.]+\\.so$`)],
        ["libggml-base.so", /^libggml-base\.so$/],
      ] as const) {
        const gpuName = files.find((f) => re.test(f));
        expect(gpuName, `${re} in ${dir}`).toBeDefined();
        const a = elfSections(join(cpuDir!, cpuName), SECTIONS);
        const g = elfSections(join(dir, gpuName!), SECTIONS);
        for (const s of SECTIONS) expect(Buffer.compare(a.get(s)!, g.get(s)!), `${gpuName} ${s}`).toBe(0);
      }
      expect(backendModules(backend).length).toBeGreaterThan(0);
    });
  }
});
