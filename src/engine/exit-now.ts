// Ends the process at once, without exit handlers: what a second SIGTERM/SIGINT asks for.
import koffi from "koffi";

/**
 * Exits with `code` through libc's _exit, skipping atexit handlers and static destructors. process.exit() runs them,
 * and the addon's handler joins its decode threads, which wait for the token being sampled: a grammar that costs
 * minutes per token held the process that long after the second signal. Nothing is flushed but what was already
 * written (stdout and stderr writes to pipes and files are synchronous). Elsewhere than Linux, process.exit().
 */
export function exitNow(code: number): never {
  if (process.platform === "linux") {
    const exit = koffi.load("libc.so.6").func("void _exit(int status)");
    exit(code);
  }
  process.exit(code);
}
