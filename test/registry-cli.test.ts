// `reflexia models …` end to end through commander: synth (real quantizer), list/show/cp/rm/quantize, and error lines.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { execFileSync } from "node:child_process";
import { truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerModelsCommand } from "../src/cli/models.ts";
import { loadConfig } from "../src/config/index.ts";
import { estimateMemoryBreakdown, readGgufHeader } from "../src/gguf/index.ts";
import type { ModelsBody } from "../src/client/api-types.ts";
import { createModelStore, type ModelStore } from "../src/registry/index.ts";
import { cleanupTempDirs, makeTempDir, snapshotStore, writeTinyGguf } from "./registry-fixtures.ts";

const GIB = 1024 ** 3;

let work: string;
let home: string;
let store: ModelStore;
let gguf: { path: string; sha256: string; bytes: Buffer };
/** The 208-byte GGUF of the QA report: magic, version 3, no tensors, no metadata (valid, but not a model). */
const HEADER_ONLY = Buffer.alloc(208);
HEADER_ONLY.write("GGUF", 0, "latin1");
HEADER_ONLY.writeUInt32LE(3, 4);
let server: Server;
let base: string;

beforeAll(async () => {
  work = makeTempDir();
  home = join(work, "home");
  store = createModelStore({ home });
  gguf = await writeTinyGguf(work, 5);
  server = createServer((req, res) => {
    if (req.url === "/model.gguf") res.writeHead(200, { "content-length": String(gguf.bytes.length) }).end(gguf.bytes);
    else if (req.url === "/header-only.gguf")
      res.writeHead(200, { "content-length": String(HEADER_ONLY.length) }).end(HEADER_ONLY);
    // Headers and a few bytes, then nothing: a stalled mirror.
    else if (req.url === "/stall.gguf")
      res.writeHead(200, { "content-length": String(gguf.bytes.length) }).write(gguf.bytes.subarray(0, 10));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await cleanupTempDirs();
});

/** Environment of the next cli() calls besides REFLEXIA_HOME (config keys such as PULL_READ_TIMEOUT). */
let cliEnv: Record<string, string> = {};

/** Runs `reflexia models <args>` in-process and returns what it printed and the exit code it set. */
async function cli(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const program = new Command("reflexia").exitOverride();
  // An explicit empty config file keeps a reflexia.config.json in the working directory out of the test.
  const file = join(work, "reflexia.config.json");
  writeFileSync(file, "{}");
  const { config } = loadConfig({ env: { ...cliEnv, REFLEXIA_HOME: home }, file });
  registerModelsCommand(program, async () => ({ config, store, server: async () => null }));
  let stdout = "";
  let stderr = "";
  const out = vi
    .spyOn(process.stdout, "write")
    .mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const err = vi
    .spyOn(process.stderr, "write")
    .mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  const previous = process.exitCode;
  process.exitCode = 0;
  try {
    await program.parseAsync(["models", ...args], { from: "user" });
    return { stdout, stderr, exitCode: Number(process.exitCode ?? 0) };
  } finally {
    process.exitCode = previous;
    out.mockRestore();
    err.mockRestore();
  }
}

/** A GGUF's bytes with `general.alignment` (u32) added as the last metadata entry; the rest is unchanged. */
function withAlignment(bytes: Buffer, alignment: number): Buffer {
  const kvCount = bytes.readBigUInt64LE(16);
  // Walk the metadata to its end, to insert the new entry there.
  let off = 24;
  const str = () => {
    const n = Number(bytes.readBigUInt64LE(off));
    off += 8 + n;
  };
  const SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (type: number): void => {
    if (type === 8) return str();
    if (type === 9) {
      const item = bytes.readUInt32LE(off);
      const len = Number(bytes.readBigUInt64LE(off + 4));
      off += 12;
      for (let i = 0; i < len; i++) value(item);
      return;
    }
    off += SIZE[type];
  };
  for (let i = 0n; i < kvCount; i++) {
    str();
    const type = bytes.readUInt32LE(off);
    off += 4;
    value(type);
  }
  const key = Buffer.from("general.alignment");
  const entry = Buffer.alloc(8 + key.length + 4 + 4);
  entry.writeBigUInt64LE(BigInt(key.length), 0);
  key.copy(entry, 8);
  entry.writeUInt32LE(4, 8 + key.length);
  entry.writeUInt32LE(alignment, 12 + key.length);
  const out = Buffer.concat([bytes.subarray(0, off), entry, bytes.subarray(off)]);
  out.writeBigUInt64LE(kvCount + 1n, 16);
  return out;
}

/** A failure is one `error: … (CODE)` line on stderr, nothing on stdout, exit code 1, and an untouched store. */
async function expectCleanFailure(code: string, ...args: string[]): Promise<void> {
  const before = await snapshotStore(store);
  const r = await cli(...args);
  expect(r.exitCode).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(new RegExp(`^error: [^\\n]+ \\(${code}\\)\\n$`));
  expect(await snapshotStore(store)).toEqual(before);
}

describe("models synth --dry-run", () => {
  it("estimates a 7b q4_0 within 5% of the 3.56 GiB llama.cpp reports, writing nothing", async () => {
    const r = await cli("synth", "--shape", "7b", "--quant", "q4_0", "--dry-run", "--json");
    expect(r.exitCode).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.dryRun).toBe(true);
    const [e] = result.estimates;
    expect(e.quantization).toBe("q4_0");
    expect(Math.abs(e.estimatedBytes / GIB - 3.56) / 3.56).toBeLessThan(0.05);
    expect(e.estimatedMemoryBytes).toBeGreaterThan(e.estimatedBytes);
    expect(await store.list()).toEqual([]);
    const human = await cli("synth", "--shape", "7b", "--quant", "q4_0,f16", "--dry-run");
    expect(human.stdout).toMatch(/q4_0\s+3\.\d\d GiB/);
    expect(human.stdout).toMatch(/f16\s+12\.\d\d GiB/);
  });
});

describe("models synth / list / show / quantize / cp / rm", () => {
  it("synth --shape tiny --quant q4_0,q8_0,f16 stores three variants whose GGUF file types match", async () => {
    const r = await cli("synth", "--shape", "tiny", "--quant", "q4_0,q8_0,f16", "--name", "t", "--seed", "3");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/created t:q4_0/);
    expect(r.stderr).toBe(""); // stderr is not a TTY here, so no progress bar
    const list = (JSON.parse((await cli("list", "--json")).stdout) as ModelsBody).models;
    expect(list.map((m) => m.name)).toEqual(["t"]);
    expect(list[0].variants.map((v) => [v.tag, v.quantization])).toEqual([
      ["q4_0", "q4_0"],
      ["q8_0", "q8_0"],
      ["f16", "f16"],
    ]);
    for (const v of list[0].variants) {
      const resolved = await store.resolve(`t:${v.tag}`);
      expect((await readGgufHeader(resolved.path)).fileType).toBe(v.tag);
      expect(v.source).toEqual({ kind: "synth", from: "tiny seed=3" });
    }
    const sizes = Object.fromEntries(list[0].variants.map((v) => [v.tag, v.size_bytes]));
    expect(sizes.q4_0).toBeLessThan(sizes.q8_0);
    expect(sizes.q8_0).toBeLessThan(sizes.f16);
    const human = (await cli("list")).stdout;
    expect(human).toMatch(/^NAME\s+TAG\s+KIND\s+QUANT\s+SIZE/);
    expect(human).toMatch(/t\s+q8_0\s+local\s+q8_0\s+[\d.]+ MiB/);
  });

  it("show prints architecture, parameters, context length, quantization, file size and estimated memory", async () => {
    const r = await cli("show", "t:q4_0");
    expect(r.exitCode, r.stderr).toBe(0);
    for (const re of [
      /Architecture\s+llama/,
      /Parameters\s+[\d.]+M/,
      /Context length\s+4096/,
      /Quantization\s+q4_0/,
      /File size\s+[\d.]+ MiB/,
      /Est\. memory\s+[\d.]+ MiB/,
    ]) {
      expect(r.stdout).toMatch(re);
    }
    // --json is GET /api/models/NAME:TAG's object, as through a server.
    const json = JSON.parse((await cli("show", "t", "--json")).stdout);
    expect(json).toMatchObject({ name: "t:q4_0", kind: "local", architecture: "llama", file_type: "q4_0" });
    // The file's real size replaces the estimated weights; the rest comes from the estimator for these dims.
    const b = estimateMemoryBreakdown("tiny", "q4_0", 4096);
    expect(json.estimated_memory).toEqual({
      weights_bytes: json.size_bytes,
      repack_bytes: b.repackBytes,
      kv_cache_bytes: b.kvCacheBytes,
      compute_bytes: b.computeBytes,
      total_bytes: json.size_bytes + b.repackBytes + b.kvCacheBytes + b.computeBytes,
    });
  });

  it("quantize creates the missing variants from the most precise one and skips existing ones", async () => {
    const r = JSON.parse((await cli("quantize", "t", "--to", "q4_k_m,q5_k_m,q4_0", "--json")).stdout);
    expect(r.from).toMatchObject({ tag: "f16" });
    expect(r.requantized).toBe(false);
    expect(r.created.map((m: { tag: string; fileType: string }) => [m.tag, m.fileType])).toEqual([
      ["q4_k_m", "q4_k_m"],
      ["q5_k_m", "q5_k_m"],
    ]);
    expect(r.skipped).toEqual([{ tag: "q4_0", reason: "t:q4_0 already exists" }]);
    expect((await store.variants("t")).map((v) => v.tag)).toEqual(["q4_0", "q4_k_m", "q5_k_m", "q8_0", "f16"]);
  });

  it("cp shares blobs and rm removes one variant or the whole model", async () => {
    expect((await cli("cp", "t:q4_0", "copy")).stdout).toMatch(/copied to copy:q4_0/);
    const rm1 = JSON.parse((await cli("rm", "t:q4_0", "--json")).stdout);
    expect(rm1.removed.map((m: { tag: string }) => m.tag)).toEqual(["q4_0"]);
    expect((await store.resolve("copy")).quantization).toBe("q4_0"); // blob survived: copy still references it
    expect((await cli("rm", "copy")).stdout).toBe("removed copy:q4_0\n");
    expect((await store.list()).map((m) => m.name)).toEqual(["t"]);
  });

  it("show, cp and rm take a tag that is a quantization name in any case; a model name is matched as spelled", async () => {
    expect((await cli("show", "t:Q8_0")).stdout).toMatch(/Quantization\s+q8_0/);
    expect((await cli("cp", "t:Q8_0", "upper")).stdout).toMatch(/copied to upper:q8_0/);
    const removed = JSON.parse((await cli("rm", "upper:Q8_0", "--json")).stdout);
    expect(removed.removed.map((m: { name: string; tag: string }) => `${m.name}:${m.tag}`)).toEqual(["upper:q8_0"]);
    expect((await store.list()).map((m) => m.name)).toEqual(["t"]);
    await expectCleanFailure("RFX_MODEL_NOT_FOUND", "show", "T:q8_0");
  });

  it("add and pull succeed through the CLI", async () => {
    expect((await cli("add", gguf.path, "--name", "added")).stdout).toMatch(/^added added:f16 /);
    const pulled = JSON.parse(
      (await cli("pull", `${base}/model.gguf`, "--name", "pulled", "--tag", "x", "--sha256", gguf.sha256, "--json"))
        .stdout,
    );
    expect(pulled.manifest).toMatchObject({ name: "pulled", tag: "x", digest: `sha256:${gguf.sha256}` });
  });
});

describe("models errors: one line, exit code 1, store unchanged", () => {
  it("add of a file that is not GGUF", async () => {
    const p = join(work, "readme.txt");
    writeFileSync(p, "plain text");
    await expectCleanFailure("RFX_INVALID_GGUF", "add", p, "--name", "x");
  });
  it("add of a truncated GGUF", async () => {
    const p = join(work, "cut.gguf");
    writeFileSync(p, gguf.bytes.subarray(0, gguf.bytes.length - 1000));
    await expectCleanFailure("RFX_INVALID_GGUF", "add", p, "--name", "x");
  });
  it("add of a missing path", () =>
    expectCleanFailure("RFX_NOT_FOUND", "add", join(work, "absent.gguf"), "--name", "x"));
  it("show of a variant whose blob is damaged names the blob by digest, not by its path", async () => {
    const other = await writeTinyGguf(work, 6, "other.gguf");
    await cli("add", other.path, "--name", "damaged");
    const blob = (await store.resolve("damaged:f16")).path;
    truncateSync(blob, 64);
    try {
      await expectCleanFailure("RFX_INVALID_GGUF", "show", "damaged:f16");
      const r = await cli("show", "damaged:f16");
      expect(r.stderr).toContain(`blob sha256:${other.sha256.slice(0, 12)}`);
      expect(r.stderr).not.toContain(store.root);
    } finally {
      await cli("rm", "damaged");
    }
  });
  it("add of a FIFO fails at once (no writer is ever waited for)", async () => {
    const fifo = join(work, "pipe.gguf");
    execFileSync("mkfifo", [fifo]);
    await expectCleanFailure("RFX_INVALID_GGUF", "add", fifo, "--name", "x");
  }, 10_000);
  it("add of a GGUF whose general.alignment is 0 or not a power of two", async () => {
    for (const value of [0, 24]) {
      const p = join(work, `align-${value}.gguf`);
      // A real model's bytes with the alignment key appended to its metadata: only the alignment is wrong.
      writeFileSync(p, withAlignment(gguf.bytes, value));
      await expectCleanFailure("RFX_INVALID_GGUF", "add", p, "--name", "x");
      expect((await cli("add", p, "--name", "x")).stderr).toContain(`general.alignment is ${value}`);
    }
  });
  it("add or pull of a GGUF without general.architecture or tensors: refused by name, nothing stored", async () => {
    const p = join(work, "junk.gguf");
    writeFileSync(p, HEADER_ONLY);
    await expectCleanFailure("RFX_INVALID_GGUF", "add", p, "--name", "j2");
    const added = await cli("add", p, "--name", "j2");
    expect(added.stderr).toContain(`${p}: not a model llama.cpp can load: it has no general.architecture`);
    expect(added.stderr).toContain("and no tensors");
    await expectCleanFailure("RFX_INVALID_GGUF", "pull", `${base}/header-only.gguf`, "--name", "j3");
    expect((await cli("pull", `${base}/header-only.gguf`, "--name", "j3")).stderr).toContain(
      `${base}/header-only.gguf: not a model llama.cpp can load`,
    );
  });
  it("rm of an unknown name", () => expectCleanFailure("RFX_MODEL_NOT_FOUND", "rm", "ghost"));
  it("show of an unknown variant", () => expectCleanFailure("RFX_MODEL_NOT_FOUND", "show", "t:q2_k"));
  it("pull of a URL that 404s", () =>
    expectCleanFailure("RFX_DOWNLOAD_FAILED", "pull", `${base}/missing.gguf`, "--name", "x"));
  it("pull from a server that stalls fails after PULL_READ_TIMEOUT with one line", async () => {
    cliEnv = { PULL_READ_TIMEOUT: "1" };
    try {
      const before = await store.list();
      const r = await cli("pull", `${base}/stall.gguf`, "--name", "x");
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(
        /^error: download of \S+ stalled: (no data|\d+ bytes) in 1 s [^\n]+ \(RFX_DOWNLOAD_FAILED\)\n$/,
      );
      // Nothing added; the 10 bytes stay in partial/ for a resume.
      expect(await store.list()).toEqual(before);
    } finally {
      cliEnv = {};
      server.closeAllConnections();
    }
  }, 15_000);
  it("pull whose sha256 mismatches", () =>
    expectCleanFailure("RFX_DOWNLOAD_FAILED", "pull", `${base}/model.gguf`, "--name", "x", "--sha256", "0".repeat(64)));
  it("synth with an unknown quantization or shape", async () => {
    await expectCleanFailure("RFX_VALIDATION", "synth", "--shape", "tiny", "--quant", "q3_x", "--name", "x");
    await expectCleanFailure("RFX_VALIDATION", "synth", "--shape", "huge", "--quant", "q4_0", "--name", "x");
  });
  it("synth of an existing variant", () =>
    expectCleanFailure("RFX_MODEL_EXISTS", "synth", "--shape", "tiny", "--quant", "q8_0", "--name", "t"));
  it("import-ollama of a directory without manifests", () =>
    expectCleanFailure("RFX_NOT_FOUND", "import-ollama", join(work, "no-ollama")));
});

describe("ensureDefaultModel", () => {
  it("creates reflexia-tiny with all five variants once, then reports nothing to do", async () => {
    const s = createModelStore({ home: join(work, "fresh-home") });
    const first = await s.ensureDefaultModel();
    expect(first).toEqual({
      created: true,
      name: "reflexia-tiny",
      createdTags: ["q4_0", "q4_k_m", "q5_k_m", "q8_0", "f16"],
    });
    const variants = await s.variants("reflexia-tiny");
    expect(variants.map((v) => v.fileType)).toEqual(["q4_0", "q4_k_m", "q5_k_m", "q8_0", "f16"]);
    expect((await s.resolve("reflexia-tiny")).tag).toBe("q4_0");
    expect(await s.ensureDefaultModel()).toEqual({ created: false, name: "reflexia-tiny", createdTags: [] });
    // A removed variant is recreated alone.
    await s.remove("reflexia-tiny:q8_0");
    expect(await s.ensureDefaultModel()).toEqual({ created: true, name: "reflexia-tiny", createdTags: ["q8_0"] });
  });
});
