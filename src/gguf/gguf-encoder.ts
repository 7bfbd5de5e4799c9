// Encodes a GGUF v3 header (metadata KV pairs and tensor infos) into bytes; tensor data is written by the caller.

export type GgufScalarType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "bool" | "u64" | "i64" | "f64";
export type GgufEntry =
  | { type: GgufScalarType; value: number | boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: GgufScalarType | "string"; value: ReadonlyArray<number | string | boolean> };

export interface GgufTensorEntry {
  name: string;
  dims: number[];
  type: number;
  /** Relative to the start of the data section; must be a multiple of the alignment. */
  offset: number;
}

const TYPE_IDS: Record<GgufScalarType | "string" | "array", number> = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
};
const SIZES: Record<GgufScalarType, number> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  u64: 8,
  i64: 8,
  f64: 8,
};

export const GGUF_ALIGNMENT = 32;

/** Bytes of a GGUF v3 header with these entries, padded to the data alignment. */
export function encodeGgufHeader(
  metadata: ReadonlyArray<[string, GgufEntry]>,
  tensors: ReadonlyArray<GgufTensorEntry>,
): Buffer {
  const parts: Buffer[] = [];
  const fixed = (n: number, fill: (b: Buffer) => void) => {
    const b = Buffer.allocUnsafe(n);
    fill(b);
    parts.push(b);
  };
  const str = (s: string) => {
    const bytes = Buffer.from(s, "utf8");
    fixed(8, (b) => b.writeBigUInt64LE(BigInt(bytes.length)));
    parts.push(bytes);
  };
  const scalar = (t: GgufScalarType, v: number | boolean) =>
    fixed(SIZES[t], (b) => {
      const n = typeof v === "boolean" ? (v ? 1 : 0) : v;
      switch (t) {
        case "u8":
        case "bool":
          b.writeUInt8(n);
          break;
        case "i8":
          b.writeInt8(n);
          break;
        case "u16":
          b.writeUInt16LE(n);
          break;
        case "i16":
          b.writeInt16LE(n);
          break;
        case "u32":
          b.writeUInt32LE(n);
          break;
        case "i32":
          b.writeInt32LE(n);
          break;
        case "f32":
          b.writeFloatLE(n);
          break;
        case "u64":
          b.writeBigUInt64LE(BigInt(n));
          break;
        case "i64":
          b.writeBigInt64LE(BigInt(n));
          break;
        case "f64":
          b.writeDoubleLE(n);
          break;
      }
    });

  fixed(24, (b) => {
    b.write("GGUF", 0, "latin1");
    b.writeUInt32LE(3, 4);
    b.writeBigUInt64LE(BigInt(tensors.length), 8);
    b.writeBigUInt64LE(BigInt(metadata.length), 16);
  });
  for (const [key, e] of metadata) {
    str(key);
    fixed(4, (b) => b.writeUInt32LE(TYPE_IDS[e.type]));
    if (e.type === "string") str(e.value);
    else if (e.type === "array") {
      fixed(12, (b) => {
        b.writeUInt32LE(TYPE_IDS[e.itemType], 0);
        b.writeBigUInt64LE(BigInt(e.value.length), 4);
      });
      if (e.itemType === "string") for (const v of e.value) str(String(v));
      else if (e.itemType === "f32" || e.itemType === "i32" || e.itemType === "u32") {
        // Typed bulk path: vocab scores and token types are tens of thousands of entries.
        const arr =
          e.itemType === "f32"
            ? Float32Array.from(e.value as number[])
            : e.itemType === "i32"
              ? Int32Array.from(e.value as number[])
              : Uint32Array.from(e.value as number[]);
        parts.push(Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength));
      } else for (const v of e.value) scalar(e.itemType, v as number | boolean);
    } else scalar(e.type, e.value);
  }
  for (const t of tensors) {
    str(t.name);
    fixed(4 + 8 * t.dims.length + 4 + 8, (b) => {
      let p = b.writeUInt32LE(t.dims.length, 0);
      for (const d of t.dims) p = b.writeBigUInt64LE(BigInt(d), p);
      p = b.writeUInt32LE(t.type, p);
      b.writeBigUInt64LE(BigInt(t.offset), p);
    });
  }
  const len = parts.reduce((s, b) => s + b.length, 0);
  const pad = (GGUF_ALIGNMENT - (len % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;
  parts.push(Buffer.alloc(pad));
  return Buffer.concat(parts);
}

export function alignUp(n: number, alignment = GGUF_ALIGNMENT): number {
  return Math.ceil(n / alignment) * alignment;
}
