// End-to-end tests of the reflexia binary: the commands a user types, run as child processes on real tiny models.
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createModelStore, OLLAMA_MODEL_MEDIA_TYPE } from "../src/registry/index.ts";
import { sha256, writeTinyGguf } from "./registry-fixtures.ts";

const run = promisify(execFile);
const BIN = join(import.meta.dirname, "..", "bin", "reflexia.js");
let home: string;
// REFLEXIA_HOST points at a closed port: these tests exercise the embedded path whatever else runs on this machine.
const env = () => ({ ...process.env, REFLEXIA_HOME: home, REFLEXIA_HOST: "http://127.0.0.1:9" });

async function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: env(), cwd: home, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "rfx-cli-"));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("reflexia CLI", () => {
  it("synthesizes a model in three quantizations, lists their file types and generates 16 tokens", async () => {
    const synth = await cli([
      "models",
      "synth",
      "--shape",
      "tiny",
      "--quant",
      "q4_0,q8_0,f16",
      "--name",
      "t",
      "--json",
    ]);
    expect(synth.code, synth.stderr).toBe(0);
    const list = JSON.parse((await cli(["models", "list", "--json"])).stdout).models;
    const t = list.find((m: { name: string }) => m.name === "t");
    expect(t.variants.map((v: { quantization: string }) => v.quantization).sort()).toEqual(["f16", "q4_0", "q8_0"]);

    const gen = await cli(["generate", "hello", "--model", "t:q4_0", "--max-tokens", "16", "--json"]);
    expect(gen.code, gen.stderr).toBe(0);
    const out = JSON.parse(gen.stdout);
    expect(out.variant).toBe("t:q4_0");
    expect(out.completion_tokens).toBe(16);
    expect(out.finish_reason).toBe("length");
    expect(out.timings.ttft_ms).toBeGreaterThan(0);
    expect(out.timings.eval_ms).toBeGreaterThan(0);
  });

  it("reports a 7b q4_0 within 5% of llama.cpp's 3.56 GiB without writing it", async () => {
    const r = await cli([
      "models",
      "synth",
      "--shape",
      "7b",
      "--quant",
      "q4_0",
      "--name",
      "big",
      "--dry-run",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout;
    const bytes = Number(text.match(/"(?:sizeBytes|bytes|estimatedBytes)"\s*:\s*(\d+)/)?.[1]);
    expect(Math.abs(bytes / 1024 ** 3 - 3.56) / 3.56).toBeLessThan(0.05);
    const list = JSON.parse((await cli(["models", "list", "--json"])).stdout).models;
    expect(list.some((m: { name: string }) => m.name === "big")).toBe(false);
  });

  it("chats interactively with slash commands from piped input", async () => {
    const r = await cli(
      ["chat", "--model", "t:q4_0", "-n", "4"],
      "hello\n/role teacher\n/stats\n/role nope\n/model t:f16\n/clear\n/exit\n",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("role: teacher");
    expect(r.stdout).toMatch(/turns 1 · prompt tokens \d+ · generated 4/);
    expect(r.stdout).toContain("unknown role 'nope'");
    expect(r.stdout).toContain("model: t:f16");
    expect(r.stdout).toContain("Cleared session context");
  });

  it("rejects bad arguments with one line and a non-zero exit", async () => {
    const r = await cli(["generate", "hi", "--model", "t:q4_0", "--max-tokens", "-3"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--max-tokens");
    const unknown = await cli(["generate", "hi", "--model", "nosuch:q4_0"]);
    expect(unknown.code).not.toBe(0);
    // One error line, besides the line that says where the command ran.
    const lines = unknown.stderr.trim().split("\n");
    expect(lines[0]).toBe("reflexia: no server at http://127.0.0.1:9; running embedded");
    expect(lines.slice(1), unknown.stderr).toHaveLength(1);
    expect(unknown.stderr).toContain("RFX_MODEL_NOT_FOUND");
    const role = await cli(["generate", "hi", "--model", "t:q4_0", "--role", "astrologer"]);
    expect(role.code).not.toBe(0);
    expect(role.stderr).toContain("unknown role");
  });

  it("prints every config key with its source", async () => {
    const r = await run(process.execPath, [BIN, "config", "--json"], { env: { ...env(), RESPONSE_CACHE_SIZE: "7" } });
    const rows = JSON.parse(r.stdout).keys as { key: string; value: unknown; source: string }[];
    expect(rows.find((k) => k.key === "cache.size")).toMatchObject({ value: 7, source: "env" });
    expect(rows.find((k) => k.key === "rag.chunk_size")).toMatchObject({ value: 512, source: "default" });
  });

  it("config names the GPU backend it yields and why; a bad GPU_LAYERS is refused by name", async () => {
    const r = await run(process.execPath, [BIN, "config", "--json"], {
      env: { ...env(), GPU: "off", GPU_LAYERS: "12" },
    });
    const j = JSON.parse(r.stdout) as {
      keys: { key: string; value: unknown; source: string }[];
      gpu: { requested: string; backend: string; reason: string };
    };
    expect(j.keys.find((k) => k.key === "gpu.layers")).toMatchObject({ value: 12, source: "env" });
    expect(j.gpu).toEqual({ requested: "off", backend: "cpu", reason: "GPU=off: every layer runs on the CPU" });
    const text = await run(process.execPath, [BIN, "config"], { env: { ...env(), GPU: "off" } });
    expect(text.stdout).toContain("\nGPU backend: cpu — GPU=off: every layer runs on the CPU\n");
    const refused = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, "config"], { env: { ...env(), GPU_LAYERS: "lots" } });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code: code ?? -1, stderr }));
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'error: invalid value for gpu.layers (GPU_LAYERS) from env: "lots" — expected "auto", "max" or a whole number of layers (0 or more) (RFX_CONFIG_INVALID)\n',
    );
  });

  it("doctor prints the CPU, the ggml CPU variant, drivers, GPU devices and the backend chosen with its reason", async () => {
    const r = await cli(["doctor"]);
    expect(r.code, r.stderr).toBe(0);
    for (const s of [
      "CPU\n",
      "ggml CPU variant",
      "Library sets",
      "Drivers\n",
      "libvulkan.so.1",
      "GPU devices\n",
      "Backend: GPU=auto → ",
    ])
      expect(r.stdout).toContain(s);
    const j = JSON.parse((await cli(["doctor", "--json"])).stdout) as {
      system: { cpuFlags: string[]; ggmlCpuVariant?: string };
      gpu: {
        chosen: { requested: string; backend: string; reason: string };
        backends: { backend: string }[];
        librarySets: { backend: string; installed: boolean }[];
      };
    };
    expect(j.system.ggmlCpuVariant).toMatch(/^[a-z0-9_]+$/);
    expect(j.gpu.backends.map((b) => b.backend)).toEqual(["cuda", "vulkan"]);
    expect(j.gpu.librarySets.every((s) => s.installed)).toBe(true);
    expect(j.gpu.chosen.requested).toBe("auto");
    if (process.env.CI) {
      expect(j.gpu.chosen.backend).toBe("cpu");
      expect(r.stdout).toContain(`Backend: GPU=auto → cpu\n  ${j.gpu.chosen.reason}\n`);
    }
  });

  it("models fit --shape 7b gives each quantization's RAM, VRAM, GPU layers and a tok/s bound", async () => {
    const r = await cli(["models", "fit", "--shape", "7b", "--context", "2048", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      contextSize: number;
      bandwidth: { cpuBytesPerSecond: number };
      rows: {
        quantization: string;
        ramBytes: number;
        gpuLayers: number;
        totalLayers: number;
        decodeTokensPerSecond: number;
      }[];
    };
    expect(j.contextSize).toBe(2048);
    expect(j.rows.map((x) => x.quantization)).toEqual(["q4_0", "q4_k_m", "q5_k_m", "q8_0", "f16"]);
    expect(j.rows.every((x) => x.totalLayers === 33 && x.ramBytes > 3 * 2 ** 30)).toBe(true);
    expect(j.bandwidth.cpuBytesPerSecond).toBeGreaterThan(1e8);
    expect(j.rows[0]!.decodeTokensPerSecond).toBeGreaterThan(j.rows[4]!.decodeTokensPerSecond);
    const text = await cli(["models", "fit", "--shape", "tiny", "--no-measure"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^VARIANT +FILE +RAM +VRAM +GPU LAYERS +DECODE TOK\/S \(BOUND\)$/m);
    expect(text.stdout).toMatch(/^tiny q4_0 .* 0\/3 +-$/m);
    const bad = await cli(["models", "fit"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("error: models fit needs a MODEL or --shape (one of them) (RFX_VALIDATION)\n");
  });

  it("creates the synthetic default model on first run in an empty store and says what it is", async () => {
    const fresh = mkdtempSync(join(tmpdir(), "rfx-first-"));
    try {
      const r = await run(process.execPath, [BIN, "generate", "hi", "--max-tokens", "4"], {
        env: { ...env(), REFLEXIA_HOME: fresh },
      });
      expect(r.stderr).toContain("SYNTHETIC");
      expect(r.stderr).toContain("models add");
      const list = JSON.parse(
        (await run(process.execPath, [BIN, "models", "list", "--json"], { env: { ...env(), REFLEXIA_HOME: fresh } }))
          .stdout,
      ).models;
      expect(list[0].name).toBe("reflexia-tiny");
      expect(list[0].variants.map((v: { quantization: string }) => v.quantization).sort()).toEqual([
        "f16",
        "q4_0",
        "q4_k_m",
        "q5_k_m",
        "q8_0",
      ]);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it("import-ollama leaves out a published parameter no request could carry, and prints why", async () => {
    const dir = join(home, "ollama-models");
    mkdirSync(join(dir, "blobs"), { recursive: true });
    const blob = (mediaType: string, bytes: Buffer) => {
      writeFileSync(join(dir, "blobs", `sha256-${sha256(bytes)}`), bytes);
      return { mediaType, digest: `sha256:${sha256(bytes)}`, size: bytes.length };
    };
    const gguf = await writeTinyGguf(home, 3);
    const layers = [
      blob(OLLAMA_MODEL_MEDIA_TYPE, gguf.bytes),
      blob("application/vnd.ollama.image.params", Buffer.from(JSON.stringify({ temperature: 0.2, top_p: 0 }))),
    ];
    const manifest = join(dir, "manifests", "registry.ollama.ai", "library", "zerop", "latest");
    mkdirSync(join(manifest, ".."), { recursive: true });
    writeFileSync(manifest, JSON.stringify({ schemaVersion: 2, layers }));
    const r = await cli(["models", "import-ollama", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^warning zerop:latest: parameter top_p left out: it must be > 0/m);
    const stored = await createModelStore({ home }).resolve("zerop");
    expect(stored.manifest.modelfile?.parameters).toEqual({ temperature: 0.2 });
  });
});
