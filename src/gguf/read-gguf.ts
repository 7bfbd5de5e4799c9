// Reads a GGUF file's header (metadata and tensor table) without touching tensor data.
import { constants, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { ReflexiaError } from "../errors/index.ts";
import { GGML_TYPES, fileTypeName, LLAMA_FTYPE_NAMES } from "./ggml-types.ts";

/** A metadata array too large to keep (e.g. tokenizer.ggml.tokens): only its element type and length. */
export interface GgufArraySummary {
  arrayType: string;
  length: number;
}
export type GgufValue = number | bigint | string | boolean | GgufValue[] | GgufArraySummary;

/** A metadata value as JSON can carry it: a 64-bit integer as a number when it is exact, else as a string. */
export function ggufValueToJson(v: GgufValue): unknown {
  if (typeof v === "bigint")
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(ggufValueToJson);
  return v;
}

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the row length (ne0). */
  dims: number[];
  /** ggml type id (enum ggml_type). */
  type: number;
  typeName: string;
  /** Offset of the data relative to `dataOffset`. */
  offset: number;
  sizeBytes: number;
}

export interface GgufHeader {
  version: number;
  tensorCount: number;
  /** Every metadata key; arrays longer than `maxArrayLength` become a GgufArraySummary. */
  metadata: Record<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Absolute offset where tensor data begins (aligned to general.alignment). */
  dataOffset: number;
  alignment: number;
  fileSizeBytes: number;
  architecture: string;
  /** llama.cpp file type name from general.file_type ("q4_0", "q4_k_m", "f16", …); guessed from tensors if absent. */
  fileType: string;
  parameterCount: number;
  contextLength: number;
  embeddingLength: number;
  blockCount: number;
  headCount: number;
  headCountKv: number;
  feedForwardLength: number;
  vocabSize: number;
}

export interface ReadGgufHeaderOptions {
  /** Arrays with more elements are summarised instead of kept. Defaults to 64. */
  maxArrayLength?: number;
  /** Accept a file that ends before its tensor data does (a download in progress: only the header is read). Defaults to false. */
  dataMayBeCut?: boolean;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
const DEFAULT_ALIGNMENT = 32;
const VALUE_TYPES = [
  "u8",
  "i8",
  "u16",
  "i16",
  "u32",
  "i32",
  "f32",
  "bool",
  "string",
  "array",
  "u64",
  "i64",
  "f64",
] as const;
const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const CHUNK = 1 << 20;

class Truncated extends Error {}

// Buffered sequential reader: the header of a 32k-vocab model is a few hundred kB of small fields,
// so it reads in 1 MiB chunks and parses synchronously between refills.
class Reader {
  private buf = Buffer.alloc(0);
  private pos = 0;
  private fileOffset = 0; // file offset of buf[0]
  constructor(
    private readonly fh: FileHandle,
    private readonly fileSize: number,
  ) {}

  get offset(): number {
    return this.fileOffset + this.pos;
  }

  async need(n: number): Promise<void> {
    if (this.buf.length - this.pos >= n) return;
    const rest = this.buf.subarray(this.pos);
    const want = Math.max(n - rest.length, CHUNK);
    const readAt = this.fileOffset + this.buf.length;
    const fresh = Buffer.alloc(Math.min(want, Math.max(0, this.fileSize - readAt)));
    let got = 0;
    while (got < fresh.length) {
      const { bytesRead } = await this.fh.read(fresh, got, fresh.length - got, readAt + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.fileOffset += this.pos;
    this.buf = Buffer.concat([rest, fresh.subarray(0, got)]);
    this.pos = 0;
    if (this.buf.length < n) throw new Truncated();
  }

  async u32(): Promise<number> {
    await this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  async u64(): Promise<number> {
    await this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`count ${v} is not plausible`);
    return Number(v);
  }

  async string(): Promise<string> {
    const len = await this.u64();
    if (len > this.fileSize) throw new Truncated();
    await this.need(len);
    const s = this.buf.toString("utf8", this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  async skip(n: number): Promise<void> {
    if (this.offset + n > this.fileSize) throw new Truncated();
    await this.need(Math.min(n, this.fileSize - this.offset));
    this.pos += n;
  }

  async scalar(type: number): Promise<number | bigint | boolean> {
    const size = FIXED_SIZE[type];
    if (size === undefined) throw new RangeError(`unknown metadata value type ${type}`);
    await this.need(size);
    const b = this.buf;
    const p = this.pos;
    this.pos += size;
    switch (type) {
      case 0:
        return b.readUInt8(p);
      case 1:
        return b.readInt8(p);
      case 2:
        return b.readUInt16LE(p);
      case 3:
        return b.readInt16LE(p);
      case 4:
        return b.readUInt32LE(p);
      case 5:
        return b.readInt32LE(p);
      case 6:
        return b.readFloatLE(p);
      case 7:
        return b.readUInt8(p) !== 0;
      case 10:
        return safeNumber(b.readBigUInt64LE(p));
      case 11:
        return safeNumber(b.readBigInt64LE(p));
      default:
        return b.readDoubleLE(p); // 12: f64
    }
  }
}

function safeNumber(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
}

async function readValue(r: Reader, type: number, maxArrayLength: number): Promise<GgufValue> {
  if (type === 8) return r.string();
  if (type !== 9) return r.scalar(type);
  const itemType = await r.u32();
  const length = await r.u64();
  if (itemType === 9 || VALUE_TYPES[itemType] === undefined)
    throw new RangeError(`unsupported array item type ${itemType}`);
  if (length <= maxArrayLength) {
    const out: GgufValue[] = [];
    for (let i = 0; i < length; i++) out.push(await readValue(r, itemType, maxArrayLength));
    return out;
  }
  // Large arrays (vocabularies, merges) are walked, not kept: fixed-size items skip in one jump.
  if (itemType === 8) {
    for (let i = 0; i < length; i++) await r.skip(await r.u64());
  } else {
    await r.skip(length * FIXED_SIZE[itemType]);
  }
  return { arrayType: VALUE_TYPES[itemType], length };
}

/** What a non-regular file is, for the one-line refusal. */
function kindOf(st: Stats): string {
  if (st.isFIFO()) return "a FIFO";
  if (st.isDirectory()) return "a directory";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/** general.alignment as llama.cpp's gguf reader accepts it: a u32 that is a non-zero power of two. */
function alignmentOf(path: string, value: GgufValue | undefined): number {
  if (value === undefined) return DEFAULT_ALIGNMENT;
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0 || (value & (value - 1)) !== 0) {
    throw invalid(
      path,
      `general.alignment is ${typeof value === "number" || typeof value === "bigint" ? String(value) : JSON.stringify(value)}; it must be a power of two`,
    );
  }
  return value;
}

function invalid(path: string, why: string, cause?: unknown): ReflexiaError {
  return new ReflexiaError("RFX_INVALID_GGUF", `${path}: ${why}`, { path }, { cause });
}

/**
 * Parses the header of the GGUF (v2/v3) file at `path`.
 * Throws RFX_NOT_FOUND when the file does not exist, RFX_INVALID_GGUF for bad magic, an unsupported version,
 * a cut header, or a file shorter than the end of its last tensor's data.
 */
export async function readGgufHeader(path: string, options: ReadGgufHeaderOptions = {}): Promise<GgufHeader> {
  const maxArrayLength = options.maxArrayLength ?? 64;
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; a regular file reads the same.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ReflexiaError("RFX_NOT_FOUND", `${path}: no such file`, { path }, { cause: e });
    throw invalid(path, `cannot be read (${code ?? (e as Error).message})`, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw invalid(path, `is ${kindOf(st)}, not a regular file`);
    const fileSizeBytes = st.size;
    const r = new Reader(fh, fileSizeBytes);
    try {
      if (fileSizeBytes < 4 || (await r.u32()) !== GGUF_MAGIC) throw invalid(path, "not a GGUF file (bad magic)");
      const version = await r.u32();
      if (version !== 2 && version !== 3) throw invalid(path, `unsupported GGUF version ${version} (need 2 or 3)`);
      const tensorCount = await r.u64();
      const kvCount = await r.u64();
      const metadata: Record<string, GgufValue> = {};
      for (let i = 0; i < kvCount; i++) {
        const key = await r.string();
        const type = await r.u32();
        if (VALUE_TYPES[type] === undefined) throw invalid(path, `metadata "${key}" has unknown type ${type}`);
        metadata[key] = await readValue(r, type, maxArrayLength);
      }
      const alignment = alignmentOf(path, metadata["general.alignment"]);
      const tensors: GgufTensorInfo[] = [];
      let parameterCount = 0;
      for (let i = 0; i < tensorCount; i++) {
        const name = await r.string();
        const nDims = await r.u32();
        if (nDims > 8) throw invalid(path, `tensor "${name}" has ${nDims} dimensions`);
        const dims: number[] = [];
        for (let d = 0; d < nDims; d++) dims.push(await r.u64());
        const type = await r.u32();
        const offset = await r.u64();
        const info = GGML_TYPES.get(type);
        if (!info) throw invalid(path, `tensor "${name}" has unknown ggml type ${type}`);
        const elements = dims.reduce((a, b) => a * b, 1);
        if (dims[0] % info.blockSize !== 0)
          throw invalid(
            path,
            `tensor "${name}" row length ${dims[0]} is not a multiple of ${info.blockSize} (${info.name})`,
          );
        parameterCount += elements;
        tensors.push({
          name,
          dims,
          type,
          typeName: info.name,
          offset,
          sizeBytes: (elements / info.blockSize) * info.typeSize,
        });
      }
      const dataOffset = Math.ceil(r.offset / alignment) * alignment;
      const dataEnd = tensors.reduce((m, t) => Math.max(m, dataOffset + t.offset + t.sizeBytes), dataOffset);
      if (tensors.length > 0 && dataEnd > fileSizeBytes && options.dataMayBeCut !== true) {
        throw invalid(path, `truncated (tensor data ends at ${dataEnd} bytes, file has ${fileSizeBytes})`);
      }
      return summarise({
        version,
        tensorCount,
        metadata,
        tensors,
        dataOffset,
        alignment,
        fileSizeBytes,
        parameterCount,
      });
    } catch (e) {
      if (e instanceof ReflexiaError) throw e;
      if (e instanceof Truncated) throw invalid(path, `truncated (header cut at ${fileSizeBytes} bytes)`, e);
      if (e instanceof RangeError) throw invalid(path, `corrupt header (${e.message})`, e);
      throw e;
    }
  } finally {
    await fh.close();
  }
}

/**
 * What keeps llama.cpp from loading the GGUF as a model, said after its path (`x.gguf: not a model …`), or
 * undefined: its loader refuses a file without `general.architecture` (which model code reads the file), and a file
 * with no tensors has no weights to run. Such a file is a valid GGUF: readGgufHeader reads it, readModelHeader not.
 */
export function modelProblem(header: Pick<GgufHeader, "metadata" | "tensorCount">): string | undefined {
  const arch = header.metadata["general.architecture"];
  const missing: string[] = [];
  if (typeof arch !== "string" || arch === "")
    missing.push("no general.architecture (llama.cpp's loader requires it to know what model the file is)");
  if (header.tensorCount === 0) missing.push("no tensors (no weights to run)");
  return missing.length === 0 ? undefined : `not a model llama.cpp can load: it has ${missing.join(" and ")}`;
}

/**
 * readGgufHeader, also refusing (RFX_INVALID_GGUF) a file modelProblem names a fault of: what every way into the
 * model store reads a file with, so no model is stored that every request then fails on.
 */
export async function readModelHeader(path: string, options: ReadGgufHeaderOptions = {}): Promise<GgufHeader> {
  const header = await readGgufHeader(path, options);
  const problem = modelProblem(header);
  if (problem) throw invalid(path, problem);
  return header;
}

type Parsed = Pick<
  GgufHeader,
  "version" | "tensorCount" | "metadata" | "tensors" | "dataOffset" | "alignment" | "fileSizeBytes" | "parameterCount"
>;

function summarise(p: Parsed): GgufHeader {
  const m = p.metadata;
  const architecture =
    typeof m["general.architecture"] === "string" ? (m["general.architecture"] as string) : "unknown";
  const num = (key: string): number => {
    const v = m[`${architecture}.${key}`];
    return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : 0;
  };
  const headCount = num("attention.head_count");
  const tokens = m["tokenizer.ggml.tokens"];
  const vocabFromTokens = Array.isArray(tokens)
    ? tokens.length
    : tokens && typeof tokens === "object"
      ? (tokens as GgufArraySummary).length
      : 0;
  return {
    ...p,
    architecture,
    fileType: resolveFileType(m["general.file_type"], p.tensors),
    contextLength: num("context_length"),
    embeddingLength: num("embedding_length"),
    blockCount: num("block_count"),
    headCount,
    headCountKv: num("attention.head_count_kv") || headCount,
    feedForwardLength: num("feed_forward_length"),
    vocabSize: num("vocab_size") || vocabFromTokens,
  };
}

// Files without general.file_type are named after the type holding most 2-D weight elements, as llama.cpp guesses.
function resolveFileType(value: GgufValue | undefined, tensors: GgufTensorInfo[]): string {
  if (typeof value === "number") return fileTypeName(value);
  const byType = new Map<number, number>();
  for (const t of tensors) {
    if (t.dims.length < 2) continue;
    const n = t.dims.reduce((a, b) => a * b, 1);
    byType.set(t.type, (byType.get(t.type) ?? 0) + n);
  }
  let best = -1;
  let bestN = -1;
  for (const [type, n] of byType) if (n > bestN) [best, bestN] = [type, n];
  if (best < 0) return "unknown";
  const typeName = GGML_TYPES.get(best)!.name.toLowerCase();
  return [...LLAMA_FTYPE_NAMES.values()].includes(typeName) ? typeName : `unknown(${typeName})`;
}
