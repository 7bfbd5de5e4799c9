// Reads one file a user names for ingest (`reflexia docs add`), refusing what must never be read whole: a FIFO,
// a device or a socket, and a file over the upload limit (checked by its size before a byte is read).
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { Stats } from "node:fs";
import { ReflexiaError } from "../../errors/index.ts";

/** What a path that is not a regular file is, for the one-sentence refusal. */
export function nonRegularKind(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/** RFX_NOT_FOUND / RFX_VALIDATION in one sentence for an fs error on `path` (ENOENT, EACCES, …). */
export function fileError(path: string, e: unknown): ReflexiaError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new ReflexiaError("RFX_NOT_FOUND", `${path}: no such file or directory`, { path });
  if (code === "EACCES" || code === "EPERM")
    return new ReflexiaError("RFX_VALIDATION", `${path}: permission denied`, { path });
  return new ReflexiaError("RFX_VALIDATION", `${path} cannot be read (${code ?? (e as Error).message})`, { path });
}

/**
 * The bytes of the regular file at `path`, read only when its size is within `maxBytes` (the server's
 * `server.upload_limit_bytes`, UPLOAD_LIMIT_BYTES, so the CLI refuses what the server would).
 */
export async function readDocumentFile(path: string, maxBytes: number): Promise<Buffer> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    const st = await fh.stat();
    const kind = nonRegularKind(st);
    if (kind) throw new ReflexiaError("RFX_VALIDATION", `${path} is ${kind}, not a regular file`, { path });
    if (st.size > maxBytes)
      throw new ReflexiaError(
        "RFX_PAYLOAD_TOO_LARGE",
        `${path} is ${st.size.toLocaleString("en-US")} bytes; the upload limit is ${maxBytes.toLocaleString("en-US")} (UPLOAD_LIMIT_BYTES)`,
        { path, size: st.size, limit: maxBytes },
      );
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
