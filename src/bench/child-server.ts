// Benchmark servers in processes of their own (as deployed): `reflexia serve` and llama-server, started and waited for.
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ReflexiaError } from "../errors/index.ts";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The CLI launcher: `node REFLEXIA_BIN serve` runs the server a user runs. */
export const REFLEXIA_BIN = fileURLToPath(new URL("../../bin/reflexia.js", import.meta.url));

/**
 * Waits until `url` answers 2xx (a child that exits first, or 60 s without an answer, fails with its last stderr),
 * and returns the cleanup that kills the child. The child is killed at this process's exit too.
 */
export async function startedAt(child: ChildProcess, name: string, url: string): Promise<() => void> {
  let log = "";
  child.stderr?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  let stopping = false;
  // A server that dies under the benchmark says why (its clients would only see connection errors).
  child.once("exit", (code, signal) => {
    if (!stopping) console.error(`${name} exited during the run (${signal ?? `code ${code}`}): ${log}`);
  });
  const cleanup = () => {
    stopping = true;
    kill();
    process.off("exit", kill);
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) {
      cleanup();
      throw new ReflexiaError("RFX_ENGINE", `${name} exited: ${log}`);
    }
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return cleanup;
    if (i > 600) {
      cleanup();
      throw new ReflexiaError("RFX_ENGINE", `${name} did not start: ${log}`);
    }
    await pause(100);
  }
}
