// Turns the paths a user names (files and folders) into the sorted list of files to ingest.
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** Each folder contributes every file below it (recursively); files stay as given. Sorted, so runs are repeatable. */
export async function expandPaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const s = await stat(p);
    if (s.isDirectory()) {
      const entries = await readdir(p, { recursive: true, withFileTypes: true });
      for (const e of entries) if (e.isFile()) out.push(join(e.parentPath, e.name));
    } else out.push(p);
  }
  return out.sort();
}
