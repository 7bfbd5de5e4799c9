// End-to-end tests of the reflexia binary: the commands a user types, run as child processes on real tiny models.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const BIN = join(import.meta.dirname, "..", "bin", "reflexia.js");
let home: string;
const env = () => ({ ...process.env, REFLEXIA_HOME: home });

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
    const synth = await cli(["models", "synth", "--shape", "tiny", "--quant", "q4_0,q8_0,f16", "--name", "t", "--json"]);
    expect(synth.code, synth.stderr).toBe(0);
    const list = JSON.parse((await cli(["models", "list", "--json"])).stdout);
    const t = list.find((m: { name: string }) => m.name === "t");
    expect(t.variants.map((v: { fileType: string }) => v.fileType).sort()).toEqual(["f16", "q4_0", "q8_0"]);

    const gen = await cli(["generate", "hello", "--model", "t:q4_0", "--max-tokens", "16", "--json"]);
    expect(gen.code, gen.stderr).toBe(0);
    const out = JSON.parse(gen.stdout);
    expect(out.variant).toBe("t:q4_0");
    expect(out.completion_tokens).toBe(16);
    expect(out.finish_reason).toBe("length");
    expect(out.timings.ttftMs).toBeGreaterThan(0);
    expect(out.timings.interTokenMs).toHaveLength(15);
  });

  it("reports a 7b q4_0 within 5% of llama.cpp's 3.56 GiB without writing it", async () => {
    const r = await cli(["models", "synth", "--shape", "7b", "--quant", "q4_0", "--name", "big", "--dry-run", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout;
    const bytes = Number(text.match(/"(?:sizeBytes|bytes|estimatedBytes)"\s*:\s*(\d+)/)?.[1]);
    expect(Math.abs(bytes / 1024 ** 3 - 3.56) / 3.56).toBeLessThan(0.05);
    const list = JSON.parse((await cli(["models", "list", "--json"])).stdout);
    expect(list.some((m: { name: string }) => m.name === "big")).toBe(false);
  });

  it("chats interactively with slash commands from piped input", async () => {
    const r = await cli(["chat", "--model", "t:q4_0", "-n", "4"], "hello\n/role teacher\n/stats\n/role nope\n/model t:f16\n/clear\n/exit\n");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("role: teacher");
    expect(r.stdout).toMatch(/turns 1 · prompt tokens \d+ · generated 4/);
    expect(r.stdout).toContain("unknown role 'nope'");
    expect(r.stdout).toContain("model: t:f16");
    expect(r.stdout).toContain("history cleared");
  });

  it("rejects bad arguments with one line and a non-zero exit", async () => {
    const r = await cli(["generate", "hi", "--model", "t:q4_0", "--max-tokens", "-3"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--max-tokens");
    const unknown = await cli(["generate", "hi", "--model", "nosuch:q4_0"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
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

  it("creates the synthetic default model on first run in an empty store and says what it is", async () => {
    const fresh = mkdtempSync(join(tmpdir(), "rfx-first-"));
    try {
      const r = await run(process.execPath, [BIN, "generate", "hi", "--max-tokens", "4"], { env: { ...env(), REFLEXIA_HOME: fresh } });
      expect(r.stderr).toContain("SYNTHETIC");
      expect(r.stderr).toContain("models add");
      const list = JSON.parse((await run(process.execPath, [BIN, "models", "list", "--json"], { env: { ...env(), REFLEXIA_HOME: fresh } })).stdout);
      expect(list[0].name).toBe("reflexia-tiny");
      expect(list[0].variants.map((v: { quantization: string }) => v.quantization).sort()).toEqual(["f16", "q4_0", "q4_k_m", "q5_k_m", "q8_0"]);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
