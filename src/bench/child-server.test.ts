// startedAt: a benchmark's server child never outlives it, also when the benchmark is killed.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const CHILD_SERVER = fileURLToPath(new URL("./child-server.ts", import.meta.url));

// A benchmark stand-in: starts a tiny HTTP server as its child through startedAt, prints the child's pid, then waits.
const BENCH = `
import { spawn } from "node:child_process";
import { startedAt } from ${JSON.stringify(CHILD_SERVER)};
const child = spawn(process.execPath, ["-e", "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.argv[1]), '127.0.0.1')", process.argv[1]], { stdio: ["ignore", "ignore", "pipe"] });
await startedAt(child, "stand-in", "http://127.0.0.1:" + process.argv[1] + "/");
console.log(child.pid);
setInterval(() => {}, 1000);
`;

// Running, not a zombie (killed, its parent gone, and not yet reaped by an init that may never do so).
const alive = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
};

describe("startedAt", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "kills the server when the benchmark gets %s, and the benchmark ends",
    async (signal) => {
      const port = String(20000 + Math.floor(Math.random() * 20000));
      const bench = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", BENCH, port], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const childPid = await new Promise<number>((resolve, reject) => {
        bench.stdout.on("data", (d: Buffer) => resolve(Number(d.toString().trim())));
        bench.once("exit", (code) => reject(new Error(`bench exited (${code}) before the server was up`)));
      });
      expect(alive(childPid)).toBe(true);
      const exited = new Promise<NodeJS.Signals | null>((r) => bench.once("exit", (_code, sig) => r(sig)));
      bench.kill(signal);
      expect(await exited).toBe(signal);
      for (let i = 0; i < 50 && alive(childPid); i++) await new Promise((r) => setTimeout(r, 20));
      expect(alive(childPid)).toBe(false);
    },
  );
});
