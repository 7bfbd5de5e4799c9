// Mutual exclusion for store mutations, within this process (a promise chain) and across processes (a pid lock file).
import { open, readFile, rm, stat } from "node:fs/promises";
import { ReflexiaError } from "../errors/index.ts";

const chains = new Map<string, Promise<unknown>>();

/**
 * An empty lock file older than this was left by a process killed between creating it and writing its pid (a
 * SIGKILL can land there): no live writer takes this long to write a few bytes, so it is stale.
 */
const EMPTY_LOCK_STALE_MS = 2_000;

/** Whether a process with this pid exists (used to tell stale locks and temp files from live ones). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Creates `path` exclusively with our pid inside. A lock left by a dead process is taken over.
 * With `waitMs` 0 a live holder makes this throw at once; otherwise it polls until `waitMs` passes.
 */
export async function acquirePidLock(path: string, waitMs: number, what: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    // An empty file is a lock being written right now; only a pid we can prove dead is stale.
    if (holder && holder !== process.pid && !isProcessAlive(holder)) {
      await rm(path, { force: true });
      continue;
    }
    if (!holder) {
      const st = await stat(path).catch(() => null);
      if (st && Date.now() - st.mtimeMs > EMPTY_LOCK_STALE_MS) {
        await rm(path, { force: true });
        continue;
      }
    }
    if (Date.now() >= deadline) {
      throw new ReflexiaError(
        "RFX_NOT_READY",
        `${what} is locked by process ${holder || "?"}; retry when it finishes`,
        { lock: path, pid: holder },
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs `fn` while holding the store lock at `lockPath`; calls for the same path in this process queue up. */
export async function withStoreLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const previous = chains.get(lockPath) ?? Promise.resolve();
  const run = previous
    .catch(() => undefined)
    .then(async () => {
      const release = await acquirePidLock(lockPath, 60_000, "the model store");
      try {
        return await fn();
      } finally {
        await release();
      }
    });
  chains.set(lockPath, run);
  try {
    return await run;
  } finally {
    if (chains.get(lockPath) === run) chains.delete(lockPath);
  }
}
