import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { getLlama, LlamaCompletion, LlamaLogLevel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUANTIZATIONS } from "../config/index.ts";
import { estimateModelBytes, readGgufHeader, writeSyntheticModel } from "../gguf/index.ts";
import { resolveLlamaLibraryPath } from "./llama-library.ts";
import { quantizeModel } from "./quantize.ts";
import type { QuantizeChildArgs } from "./quantize-child.ts";

let dir: string;
let f16: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rfx-quantize-"));
  f16 = join(dir, "tiny-f16.gguf");
  await writeSyntheticModel({ path: f16, shape: "tiny" });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const leftovers = async () => (await readdir(dir)).filter((f) => f.includes(".partial-"));

describe("quantizeModel", () => {
  it.each(QUANTIZATIONS)(
    "writes a %s file that reads back with that file type, at the estimated size",
    async (type) => {
      const output = join(dir, `tiny-${type}.gguf`);
      const progress: number[] = [];
      await quantizeModel({ input: f16, output, type, threads: 1, onProgress: (n) => progress.push(n) });
      const h = await readGgufHeader(output);
      expect(h.fileType).toBe(type);
      expect(h.fileSizeBytes).toBe(estimateModelBytes("tiny", type));
      expect(progress.at(-1)).toBe(h.tensorCount);
      if (type === "q4_0") expect(h.tensors.find((t) => t.name === "output.weight")?.typeName).toBe("q6_K");
      if (type === "q4_k_m")
        expect(new Set(h.tensors.map((t) => t.typeName))).toEqual(new Set(["f32", "q4_K", "q6_K"]));
      expect(await leftovers()).toEqual([]);
    },
  );

  it("keeps the event loop running while llama.cpp works", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      await quantizeModel({ input: f16, output: join(dir, "tick.gguf"), type: "q8_0", threads: 1 });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });

  it("produces a q4_0 model that loads and generates in node-llama-cpp", async () => {
    const output = join(dir, "gen-q4_0.gguf");
    await quantizeModel({ input: f16, output, type: "q4_0" });
    const warnings: string[] = [];
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.warn, logger: (_l, m) => warnings.push(m) });
    const model = await llama.loadModel({ modelPath: output });
    try {
      const context = await model.createContext({ contextSize: 256 });
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      let tokens = 0;
      await completion.generateCompletion("Hello world", {
        maxTokens: 6,
        temperature: 0,
        onToken: (t) => (tokens += t.length),
      });
      expect(tokens).toBeGreaterThan(0);
      await context.dispose();
      expect(warnings).toEqual([]);
    } finally {
      await model.dispose();
      await llama.dispose();
    }
  });

  it("rejects bad input with a code before any native call", async () => {
    const out = join(dir, "never.gguf");
    await expect(quantizeModel({ input: join(dir, "missing.gguf"), output: out, type: "q4_0" })).rejects.toMatchObject({
      code: "RFX_NOT_FOUND",
    });
    const text = join(dir, "text.gguf");
    await writeFile(text, "not a model at all\n");
    await expect(quantizeModel({ input: text, output: out, type: "q4_0" })).rejects.toMatchObject({
      code: "RFX_INVALID_GGUF",
    });
    await expect(quantizeModel({ input: f16, output: out, type: "q3_bogus" as never })).rejects.toMatchObject({
      code: "RFX_VALIDATION",
    });
    await expect(
      quantizeModel({ input: f16, output: join(dir, "no-such-dir", "x.gguf"), type: "q4_0" }),
    ).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    const q = join(dir, "src-q4_0.gguf");
    await quantizeModel({ input: f16, output: q, type: "q4_0" });
    await expect(quantizeModel({ input: q, output: out, type: "q8_0" })).rejects.toThrow("already q4_0");
    expect((await readdir(dir)).includes("never.gguf")).toBe(false);
  });

  it("stops on abort and leaves no partial file", async () => {
    const ac = new AbortController();
    const p = quantizeModel({ input: f16, output: join(dir, "aborted.gguf"), type: "q4_0", signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: "RFX_CANCELLED" });
    expect(await leftovers()).toEqual([]);
    expect((await readdir(dir)).includes("aborted.gguf")).toBe(false);
  });

  it.runIf(process.platform === "linux")(
    "the quantizer process dies with the process that started it (kill -9 of the server)",
    async () => {
      // A FIFO input with no writer: llama.cpp's open blocks, so the quantizer would wait forever on its own.
      const fifo = join(dir, "input.fifo");
      execFileSync("mkfifo", [fifo]);
      const child = fileURLToPath(new URL("./quantize-child.ts", import.meta.url));
      const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm")).href;
      const args: Omit<QuantizeChildArgs, "parentPid"> = {
        library: resolveLlamaLibraryPath(),
        input: fifo,
        output: join(dir, "never.gguf"),
        ftype: 2,
        threads: 1,
        allowRequantize: false,
      };
      // The "server": starts the quantizer as quantize.ts does, prints its pid, and waits.
      const parentScript = `
        const { spawn } = require("node:child_process");
        const args = { ...${JSON.stringify(args)}, parentPid: process.pid };
        const c = spawn(process.execPath, ["--import", ${JSON.stringify(tsx)}, ${JSON.stringify(child)}, JSON.stringify(args)], { stdio: "ignore" });
        console.log(c.pid);
        setInterval(() => {}, 1000);`;
      const parent = spawn(process.execPath, ["-e", parentScript], { stdio: ["ignore", "pipe", "inherit"] });
      const pid = await new Promise<number>((resolve) =>
        parent.stdout.once("data", (d: Buffer) => resolve(Number(String(d).trim()))),
      );
      const alive = (p: number) => {
        try {
          process.kill(p, 0);
          return true;
        } catch {
          return false;
        }
      };
      try {
        // Loaded and blocked in llama.cpp (library load and backend init take about a second).
        await new Promise((r) => setTimeout(r, 2500));
        expect(alive(pid)).toBe(true);
        parent.kill("SIGKILL");
        for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
        expect(alive(pid)).toBe(false);
      } finally {
        parent.kill("SIGKILL");
        if (alive(pid)) process.kill(pid, "SIGKILL");
        await rm(fifo, { force: true });
      }
    },
    20_000,
  );
});
