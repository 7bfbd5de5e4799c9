// Runs the `reflexia` CLI (bin/reflexia.js) as a child process with REFLEXIA_HOME set, collecting its output.
import { spawn } from "node:child_process";
import { join } from "node:path";

export const REFLEXIA_BIN = join(import.meta.dirname, "..", "..", "bin", "reflexia.js");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `reflexia ...args` with REFLEXIA_HOME=home (and `env` on top), run in home; resolves when it exits. stdin is empty
 * (/dev/null), or `input` piped.
 */
export function runCli(
  home: string,
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [REFLEXIA_BIN, ...args], {
      env: { ...process.env, REFLEXIA_HOME: home, ...env },
      cwd: home,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    child.stdin?.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
