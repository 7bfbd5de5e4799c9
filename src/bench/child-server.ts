// Benchmark servers in processes of their own (as deployed): `reflexia serve` and llama-server, started and waited for.
import { spawn, type ChildProcess } from "node:child_process";
import { CONFIG_KEYS } from "../config/index.ts";
import { fileURLToPath } from "node:url";
import { ReflexiaError } from "../errors/index.ts";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The CLI launcher: `node REFLEXIA_BIN serve` runs the server a user runs. */
export const REFLEXIA_BIN = fileURLToPath(new URL("../../bin/reflexia.js", import.meta.url));

/**
 * Waits until `url` answers 2xx (a child that exits first, or 60 s without an answer, fails with its last stderr),
 * and returns the cleanup that kills the child. The child is killed at this process's exit too, and when this
 * process gets SIGINT or SIGTERM (the signal is then delivered again, to whoever else handles it or to end this
 * process): `kill <benchmark pid>` leaves no server behind.
 */
export async function startedAt(child: ChildProcess, name: string, url: string): Promise<() => void> {
  let log = "";
  child.stderr?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const kill = () => child.kill("SIGKILL");
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.kill(process.pid, signal);
  };
  process.once("exit", kill);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let stopping = false;
  // A server that dies under the benchmark says why (its clients would only see connection errors).
  child.once("exit", (code, signal) => {
    if (!stopping) console.error(`${name} exited during the run (${signal ?? `code ${code}`}): ${log}`);
  });
  const cleanup = () => {
    stopping = true;
    kill();
    process.off("exit", kill);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
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

/**
 * `reflexia serve` in a process of its own (as deployed), configured by `configFile` only: a config variable of this
 * shell (PORT, REFLEXIA_HOME, …) would override the file, so none is passed on. Resolves once `url`/readyz answers,
 * with the child and the cleanup that kills it. `prefix` runs it under another command (taskset -c …).
 */
export async function startReflexiaServe(
  configFile: string,
  url: string,
  prefix: string[] = [],
): Promise<{ child: ChildProcess; cleanup: () => void }> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const d of CONFIG_KEYS) delete env[d.env];
  env.REFLEXIA_CONFIG = configFile;
  const command = [...prefix, process.execPath, REFLEXIA_BIN, "serve"];
  const child = spawn(command[0], command.slice(1), {
    env: env as NodeJS.ProcessEnv,
    stdio: ["ignore", "ignore", "pipe"],
  });
  return { child, cleanup: await startedAt(child, "reflexia serve", `${url}/readyz`) };
}
