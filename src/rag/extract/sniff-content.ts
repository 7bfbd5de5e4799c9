// Decides from the bytes alone whether an upload is a PDF, text (and decodes it) or a binary we refuse.

export type SniffResult =
  | { kind: "pdf" }
  | { kind: "binary"; reason: string }
  | { kind: "text"; text: string; encoding: "utf-8" | "utf-16le" | "utf-16be" | "windows-1252" };

/** Magic numbers of common binary formats, so a renamed image or archive is named in the error. */
const BINARY_MAGIC: { name: string; bytes: number[] }[] = [
  { name: "PNG image", bytes: [0x89, 0x50, 0x4e, 0x47] },
  { name: "JPEG image", bytes: [0xff, 0xd8, 0xff] },
  { name: "GIF image", bytes: [0x47, 0x49, 0x46, 0x38] },
  { name: "ZIP archive (or DOCX/XLSX)", bytes: [0x50, 0x4b, 0x03, 0x04] },
  { name: "gzip archive", bytes: [0x1f, 0x8b] },
  { name: "ELF executable", bytes: [0x7f, 0x45, 0x4c, 0x46] },
  { name: "GGUF model", bytes: [0x47, 0x47, 0x55, 0x46] },
  { name: "WebAssembly module", bytes: [0x00, 0x61, 0x73, 0x6d] },
  { name: "7z archive", bytes: [0x37, 0x7a, 0xbc, 0xaf] },
  { name: "RIFF media", bytes: [0x52, 0x49, 0x46, 0x46] },
];

/** Bytes inspected for control characters; enough to judge, bounded so a 20 MB upload costs nothing. */
const SAMPLE_BYTES = 64 * 1024;
/** Share of invalid UTF-8 sequences past which text is not UTF-8 (legacy 8-bit text stays far below binary noise). */
const MAX_INVALID_UTF8_RATIO = 0.3;
/** Share of C0 control bytes (other than tab, newlines, form feed, escape) past which the content is binary. */
const MAX_CONTROL_RATIO = 0.02;

function startsWith(bytes: Uint8Array, magic: number[], at = 0): boolean {
  if (bytes.length < at + magic.length) return false;
  return magic.every((b, i) => bytes[at + i] === b);
}

function isPdf(bytes: Uint8Array): boolean {
  // The PDF spec lets the header appear anywhere in the first 1024 bytes (some writers prepend junk).
  const head = Buffer.from(bytes.subarray(0, 1024)).toString("latin1");
  return head.includes("%PDF-");
}

function controlRatio(bytes: Uint8Array): number {
  const n = Math.min(bytes.length, SAMPLE_BYTES);
  if (n === 0) return 0;
  let ctrl = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x0b && b !== 0x1b) ctrl++;
    else if (b === 0x7f) ctrl++;
  }
  return ctrl / n;
}

function countInvalidUtf8(bytes: Uint8Array): number {
  const decoded = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  let replacements = 0;
  for (let i = decoded.indexOf("\uFFFD"); i !== -1; i = decoded.indexOf("\uFFFD", i + 1)) replacements++;
  if (replacements === 0) return 0;
  // Literal U+FFFD characters (EF BF BD) in valid text are not decoding errors.
  let literal = 0;
  for (let i = 0; i + 2 < bytes.length; i++)
    if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) literal++;
  return Math.max(0, replacements - literal);
}

export function sniffContent(bytes: Uint8Array): SniffResult {
  if (isPdf(bytes)) return { kind: "pdf" };
  // UTF-16 text carries NUL bytes, so its BOM must be honoured before the NUL test.
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) {
    const le = bytes[0] === 0xff;
    const text = new TextDecoder(le ? "utf-16le" : "utf-16be").decode(bytes.subarray(2));
    return { kind: "text", text, encoding: le ? "utf-16le" : "utf-16be" };
  }
  for (const m of BINARY_MAGIC)
    if (startsWith(bytes, m.bytes)) return { kind: "binary", reason: `content is a ${m.name}` };
  const sample = bytes.subarray(0, SAMPLE_BYTES);
  if (sample.includes(0)) return { kind: "binary", reason: "content contains NUL bytes" };
  if (controlRatio(bytes) > MAX_CONTROL_RATIO) return { kind: "binary", reason: "content is mostly control bytes" };
  const body = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? bytes.subarray(3) : bytes;
  const invalid = countInvalidUtf8(body);
  if (invalid === 0) return { kind: "text", text: new TextDecoder("utf-8").decode(body), encoding: "utf-8" };
  if (invalid / Math.max(1, body.length) > MAX_INVALID_UTF8_RATIO) {
    return { kind: "binary", reason: "content is not valid UTF-8 text" };
  }
  // A few invalid sequences and no control bytes: legacy 8-bit text (WHATWG maps latin1 to windows-1252).
  return { kind: "text", text: new TextDecoder("windows-1252").decode(body), encoding: "windows-1252" };
}
