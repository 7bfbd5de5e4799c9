// Turns the paths a user names (files and folders) into the sorted list of files to ingest.
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { ReflexiaError } from "../../errors/index.ts";
import { fileError, nonRegularKind } from "./read-document-file.ts";

/**
 * Each folder contributes every regular file below it (recursively); a named path must be a folder or a regular
 * file (a FIFO or device is refused at once, a missing path in one sentence). Sorted, so runs are repeatable.
 */
export async function expandPaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const s = await stat(p).catch((e: unknown) => {
      throw fileError(p, e);
    });
    if (s.isDirectory()) {
      const entries = await readdir(p, { recursive: true, withFileTypes: true });
      for (const e of entries) if (e.isFile()) out.push(join(e.parentPath, e.name));
      continue;
    }
    const kind = nonRegularKind(s);
    if (kind) throw new ReflexiaError("RFX_VALIDATION", `${p} is ${kind}, not a regular file`, { path: p });
    out.push(p);
  }
  return out.sort();
}
