import { mkdtemp, open, readFile, rm, writeFile, truncate, copyFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { encodeGgufHeader, type GgufEntry } from "./gguf-encoder.ts";
import { readGgufHeader, readModelHeader } from "./read-gguf.ts";
import { writeSyntheticModel } from "./write-synthetic-model.ts";
import { MODEL_SHAPES } from "./shapes.ts";

let dir: string;
let tiny: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rfx-read-gguf-"));
  tiny = join(dir, "tiny.gguf");
  await writeSyntheticModel({ path: tiny, shape: "tiny" });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectCode(p: Promise<unknown>, code: string, text: string) {
  await expect(p).rejects.toMatchObject({ name: "ReflexiaError", code });
  await expect(p).rejects.toThrow(text);
}

describe("readGgufHeader", () => {
  it("reads the hyperparameters, file type and tensor table of a llama GGUF", async () => {
    const h = await readGgufHeader(tiny);
    const d = MODEL_SHAPES.tiny;
    expect(h).toMatchObject({
      version: 3,
      architecture: "llama",
      fileType: "f16",
      contextLength: d.nCtx,
      embeddingLength: d.nEmbd,
      blockCount: d.nLayer,
      headCount: d.nHead,
      headCountKv: d.nHeadKv,
      feedForwardLength: d.nFf,
      vocabSize: d.nVocab,
    });
    expect(h.tensorCount).toBe(3 + 9 * d.nLayer);
    expect(h.tensors).toHaveLength(h.tensorCount);
    const embd = h.tensors.find((t) => t.name === "token_embd.weight")!;
    expect(embd).toMatchObject({ dims: [d.nEmbd, d.nVocab], typeName: "f16", sizeBytes: d.nEmbd * d.nVocab * 2 });
    expect(h.tensors.find((t) => t.name === "output_norm.weight")).toMatchObject({ typeName: "f32", dims: [d.nEmbd] });
    const last = h.tensors.reduce((a, t) => (t.offset > a.offset ? t : a));
    expect(h.dataOffset % 32).toBe(0);
    expect(h.dataOffset + last.offset + last.sizeBytes).toBe(h.fileSizeBytes);
    expect(h.parameterCount).toBe(h.tensors.reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0));
  });

  it("keeps small metadata values and summarises large arrays", async () => {
    const h = await readGgufHeader(tiny);
    expect(h.metadata["tokenizer.ggml.model"]).toBe("llama");
    expect(h.metadata["tokenizer.ggml.bos_token_id"]).toBe(1);
    expect(h.metadata["tokenizer.ggml.add_bos_token"]).toBe(true);
    expect(h.metadata["tokenizer.ggml.tokens"]).toEqual({ arrayType: "string", length: MODEL_SHAPES.tiny.nVocab });
    expect(h.metadata["tokenizer.ggml.scores"]).toEqual({ arrayType: "f32", length: MODEL_SHAPES.tiny.nVocab });
    const full = await readGgufHeader(tiny, { maxArrayLength: 10_000 });
    const tokens = full.metadata["tokenizer.ggml.tokens"] as string[];
    expect(tokens.slice(0, 3)).toEqual(["<unk>", "<s>", "</s>"]);
    expect(tokens).toContain("\u2581");
  });

  it("rejects a file with bad magic", async () => {
    const p = join(dir, "not.gguf");
    await writeFile(p, "this is a text file, not a model\n".repeat(10));
    await expectCode(readGgufHeader(p), "RFX_INVALID_GGUF", `${p}: not a GGUF file (bad magic)`);
    const empty = join(dir, "empty.gguf");
    await writeFile(empty, "");
    await expectCode(readGgufHeader(empty), "RFX_INVALID_GGUF", "bad magic");
  });

  it("rejects a file cut inside the tensor data", async () => {
    const p = join(dir, "cut-data.gguf");
    await copyFile(tiny, p);
    const h = await readGgufHeader(p);
    await truncate(p, h.fileSizeBytes - 1);
    await expectCode(readGgufHeader(p), "RFX_INVALID_GGUF", "truncated");
  });

  it("rejects a file cut inside the header", async () => {
    for (const size of [6, 100, 5000]) {
      const p = join(dir, `cut-header-${size}.gguf`);
      await copyFile(tiny, p);
      await truncate(p, size);
      await expectCode(readGgufHeader(p), "RFX_INVALID_GGUF", "truncated");
    }
  });

  it("rejects unsupported versions and garbage counts without crashing", async () => {
    const p = join(dir, "v9.gguf");
    await copyFile(tiny, p);
    const fh = await open(p, "r+");
    await fh.write(Buffer.from([9, 0, 0, 0]), 0, 4, 4);
    await fh.close();
    await expectCode(readGgufHeader(p), "RFX_INVALID_GGUF", "unsupported GGUF version 9");
    const g = join(dir, "garbage.gguf");
    const b = Buffer.alloc(64, 0xff);
    b.write("GGUF", 0, "latin1");
    b.writeUInt32LE(3, 4);
    await writeFile(g, b);
    await expect(readGgufHeader(g)).rejects.toMatchObject({ code: "RFX_INVALID_GGUF" });
  });

  it("reports a missing path as RFX_NOT_FOUND and a directory as RFX_INVALID_GGUF", async () => {
    const missing = join(dir, "nope.gguf");
    await expectCode(readGgufHeader(missing), "RFX_NOT_FOUND", `${missing}: no such file`);
    const sub = join(dir, "a-dir");
    await mkdir(sub);
    await expectCode(readGgufHeader(sub), "RFX_INVALID_GGUF", "not a regular file");
  });

  it("refuses a FIFO at once instead of waiting for a writer, and a device", async () => {
    const fifo = join(dir, "pipe.gguf");
    execFileSync("mkfifo", [fifo]);
    const t0 = performance.now();
    await expectCode(readGgufHeader(fifo), "RFX_INVALID_GGUF", "is a FIFO, not a regular file");
    expect(performance.now() - t0).toBeLessThan(5000);
    await expectCode(readGgufHeader("/dev/zero"), "RFX_INVALID_GGUF", "is a device");
  });

  it("refuses general.alignment 0, not a power of two, or not an integer, as llama.cpp does; accepts 64", async () => {
    const write = async (name: string, entry: GgufEntry) => {
      const p = join(dir, name);
      await writeFile(
        p,
        encodeGgufHeader(
          [
            ["general.architecture", { type: "string", value: "llama" }],
            ["general.alignment", entry],
          ],
          [],
        ),
      );
      return p;
    };
    for (const [name, entry, shown] of [
      ["align-0.gguf", { type: "u32", value: 0 }, "general.alignment is 0"],
      ["align-3.gguf", { type: "u32", value: 3 }, "general.alignment is 3"],
      ["align-48.gguf", { type: "u32", value: 48 }, "general.alignment is 48"],
      ["align-str.gguf", { type: "string", value: "32" }, 'general.alignment is "32"'],
    ] as const) {
      await expectCode(readGgufHeader(await write(name, entry)), "RFX_INVALID_GGUF", shown);
    }
    expect((await readGgufHeader(await write("align-64.gguf", { type: "u32", value: 64 }))).alignment).toBe(64);
  });

  it("readModelHeader refuses a GGUF llama.cpp cannot load as a model, naming what it lacks; readGgufHeader reads it", async () => {
    const write = async (name: string, entries: [string, GgufEntry][]) => {
      const p = join(dir, name);
      await writeFile(p, encodeGgufHeader(entries, []));
      return p;
    };
    // The 208-byte file of the report: magic, version 3, no tensors, no metadata.
    const bare = join(dir, "bare.gguf");
    const bytes = Buffer.alloc(208);
    bytes.write("GGUF", 0, "latin1");
    bytes.writeUInt32LE(3, 4);
    await writeFile(bare, bytes);
    expect(await readGgufHeader(bare)).toMatchObject({ architecture: "unknown", tensorCount: 0 });
    await expectCode(
      readModelHeader(bare),
      "RFX_INVALID_GGUF",
      `${bare}: not a model llama.cpp can load: it has no general.architecture (llama.cpp's loader requires it to know what model the file is) and no tensors (no weights to run)`,
    );
    const archOnly = await write("arch-only.gguf", [["general.architecture", { type: "string", value: "llama" }]]);
    await expectCode(readModelHeader(archOnly), "RFX_INVALID_GGUF", "it has no tensors (no weights to run)");
    await expect(readModelHeader(archOnly)).rejects.not.toThrow("general.architecture");
    // A real model without general.architecture: only that is named.
    const tensorsOnly = join(dir, "no-arch.gguf");
    await writeFile(tensorsOnly, renameKey(await readFile(tiny), "general.architecture", "general.architecturX"));
    await expectCode(
      readModelHeader(tensorsOnly),
      "RFX_INVALID_GGUF",
      "it has no general.architecture (llama.cpp's loader requires it to know what model the file is)",
    );
    await expect(readModelHeader(tensorsOnly)).rejects.not.toThrow("no tensors");
    expect((await readModelHeader(tiny)).architecture).toBe("llama");
  });
});

/** `bytes` with the metadata key `from` spelled `to` (same length, so nothing else moves). */
function renameKey(bytes: Buffer, from: string, to: string): Buffer {
  const at = bytes.indexOf(Buffer.from(from, "utf8"));
  if (at < 0 || from.length !== to.length) throw new Error(`no ${from} to rename`);
  const out = Buffer.from(bytes);
  out.write(to, at, "utf8");
  return out;
}
