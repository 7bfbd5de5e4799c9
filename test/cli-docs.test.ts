// `reflexia docs add` reads only regular files, each checked against the upload limit by its size before a byte is
// read (the server's own limit when a server answers): a FIFO, a device, an oversized or a missing path is refused in
// one sentence instead of hanging, filling memory or printing a raw ENOENT (real CLI processes, a real server).
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../src/main.ts";
import { runCli } from "./support/run-cli.ts";
import { liveServerConfig } from "./support/server-fixture.ts";

let home: string;
let server: RunningServer | undefined;
const SERVER_LIMIT = 4096;
const CLOSED = "http://127.0.0.1:9";

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "rfx-docs-add-"));
  execFileSync("mkfifo", [join(home, "pipe")]);
  await writeFile(join(home, "small.txt"), "The capital of Atlantis is Poseidonia.");
  // Sparse: 5,000 bytes on paper, over the 4,096 limits below, costing no disk.
  await writeFile(join(home, "big.txt"), "");
  await truncate(join(home, "big.txt"), 5000);
  server = await startServer({
    loaded: liveServerConfig(home, { "server.upload_limit_bytes": SERVER_LIMIT }),
    ensureDefaultModel: false,
    logger: false,
    webDir: null,
  });
  await server.ready.catch(() => {});
}, 60_000);
afterAll(async () => {
  await server?.close();
  await rm(home, { recursive: true, force: true });
});

describe("docs add, embedded", () => {
  const local = (args: string[]) =>
    runCli(home, ["--local", "docs", "add", ...args], { REFLEXIA_HOST: CLOSED, UPLOAD_LIMIT_BYTES: "4096" });

  it("refuses a FIFO at once instead of waiting for a writer", async () => {
    const r = await local([join(home, "pipe")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(home, "pipe")} is a FIFO, not a regular file`);
  }, 30_000);

  it("refuses a device instead of reading it whole", async () => {
    const r = await local(["/dev/zero"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/dev/zero is a device, not a regular file");
  }, 30_000);

  it("a missing path is one sentence, not a raw ENOENT", async () => {
    const r = await local(["/nonexistent-rfx"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("error: /nonexistent-rfx: no such file or directory (RFX_NOT_FOUND)");
  }, 30_000);

  it("a file over UPLOAD_LIMIT_BYTES fails by its size; the others are still added", async () => {
    const r = await local([join(home, "big.txt"), join(home, "small.txt"), "--json"]);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as { file: string; status: string; error?: string }[];
    expect(rows.map((x) => [x.file, x.status])).toEqual([
      [join(home, "big.txt"), "failed"],
      [join(home, "small.txt"), "created"],
    ]);
    expect(rows[0].error).toContain("is 5,000 bytes; the upload limit is 4,096 (UPLOAD_LIMIT_BYTES)");
  }, 60_000);
});

describe("docs add through a server", () => {
  it("checks the server's upload limit (not the client's config) before reading a file", async () => {
    const r = await runCli(home, ["docs", "add", join(home, "big.txt"), join(home, "pipe"), "--json"], {
      REFLEXIA_HOST: server!.url,
      UPLOAD_LIMIT_BYTES: String(1 << 20),
    });
    // The FIFO is refused before anything is sent.
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is a FIFO, not a regular file");
    const big = await runCli(home, ["docs", "add", join(home, "big.txt"), "--json"], {
      REFLEXIA_HOST: server!.url,
      UPLOAD_LIMIT_BYTES: String(1 << 20),
    });
    expect(big.code).toBe(1);
    const [row] = JSON.parse(big.stdout) as { status: string; error: string }[];
    expect(row.status).toBe("failed");
    expect(row.error).toContain(`the upload limit is ${SERVER_LIMIT.toLocaleString("en-US")}`);
  }, 60_000);
});

describe("docs list", () => {
  it("--limit has the service's one bound, 1,000, in both modes", async () => {
    const over = await runCli(home, ["--local", "docs", "list", "--limit", "5000"], { REFLEXIA_HOST: CLOSED });
    expect(over.code).not.toBe(0);
    expect(over.stderr).toMatch(/--limit.*1000/);
    const max = await runCli(home, ["docs", "list", "--limit", "1000", "--json"], { REFLEXIA_HOST: server!.url });
    expect(max.code, max.stderr).toBe(0);
    expect(JSON.parse(max.stdout).limit).toBe(1000);
  }, 60_000);
});
