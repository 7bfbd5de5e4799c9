// Test support for the memory layer: fake cgroup and /proc trees in temp dirs, removed after each test.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach } from "vitest";

/**
 * Registers cleanup with the calling test file and returns a builder: `tree({"cg/memory.max": "…"})` writes the
 * files under a fresh temp dir and returns {cgroupRoot: <dir>/cg, procRoot: <dir>/proc} (both always exist).
 */
export function useFakeSystemTree(): (files: Record<string, string>) => { cgroupRoot: string; procRoot: string } {
  let dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
  });
  return (files) => {
    const base = mkdtempSync(join(tmpdir(), "rfx-sys-"));
    dirs.push(base);
    for (const [rel, content] of Object.entries(files)) {
      const file = join(base, rel);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
    mkdirSync(join(base, "cg"), { recursive: true });
    mkdirSync(join(base, "proc", "self"), { recursive: true });
    return { cgroupRoot: join(base, "cg"), procRoot: join(base, "proc") };
  };
}
