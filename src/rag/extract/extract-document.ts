// Turns uploaded bytes into a document's text and metadata, sniffing the content type; refuses what it cannot read.
import { createHash } from "node:crypto";
import { ReflexiaError } from "../../errors/index.ts";
import type { DocumentType } from "../types.ts";
import { csvToText } from "./csv-to-text.ts";
import { detectTextType, typeHint } from "./detect-type.ts";
import { htmlToText } from "./html-to-text.ts";
import { jsonToText, parseJsonOrLines } from "./json-to-text.ts";
import { pdfToText } from "./pdf-to-text.ts";
import { sanitizeLabel, sanitizeTitle } from "./sanitize-title.ts";
import { sniffContent } from "./sniff-content.ts";

export interface ExtractInput {
  content: Buffer | Uint8Array | string;
  /** Client-supplied file name: a hint for the type and a display title, never a path. */
  filename?: string;
  /** Explicit title; wins over the file name and any title found in the content. */
  title?: string;
  /** Declared MIME type: a hint only; the content decides. */
  mimeType?: string;
}

export interface ExtractOptions {
  /** Largest accepted upload in bytes; larger gives RFX_PAYLOAD_TOO_LARGE. Defaults to no limit. */
  maxBytes?: number;
}

export interface ExtractedDocument {
  text: string;
  type: DocumentType;
  mimeType: string;
  title: string;
  size: number;
  sha256: string;
  /** Programming language for code documents. */
  language?: string;
}

const MIME_BY_TYPE: Record<DocumentType, string> = {
  text: "text/plain",
  markdown: "text/markdown",
  html: "text/html",
  pdf: "application/pdf",
  json: "application/json",
  csv: "text/csv",
  code: "text/plain",
};

/** Line endings normalised and the BOM dropped: offsets index this text, so it must be stable. */
function normaliseText(s: string): string {
  return s.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
}

function firstLineTitle(text: string): string | undefined {
  const line = text.split("\n").find((l) => l.trim() !== "");
  if (!line) return undefined;
  const t = line
    .replace(/^#+\s*/, "")
    .replace(/\s+/g, " ")
    .trim();
  return t.length > 80 ? `${t.slice(0, 77)}...` : t;
}

export async function extractDocument(input: ExtractInput, options: ExtractOptions = {}): Promise<ExtractedDocument> {
  const bytes =
    typeof input.content === "string"
      ? Buffer.from(input.content, "utf8")
      : Buffer.from(input.content.buffer, input.content.byteOffset, input.content.byteLength);
  const size = bytes.byteLength;
  if (options.maxBytes !== undefined && size > options.maxBytes) {
    throw new ReflexiaError(
      "RFX_PAYLOAD_TOO_LARGE",
      `the document is ${size} bytes; the limit is ${options.maxBytes}`,
      { size, limit: options.maxBytes },
    );
  }
  if (size === 0) throw new ReflexiaError("RFX_EMPTY_DOCUMENT", "the document is empty (0 bytes)");
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const fileTitle = sanitizeTitle(input.filename);
  const hint = typeHint(input.filename, input.mimeType);
  const sniffed = sniffContent(bytes);
  if (sniffed.kind === "binary") {
    throw new ReflexiaError("RFX_UNSUPPORTED_MEDIA", `unsupported document: ${sniffed.reason}`, {
      declared: hint.extension ?? input.mimeType,
    });
  }

  let type: DocumentType;
  let text: string;
  let contentTitle: string | undefined;
  let language: string | undefined;
  if (sniffed.kind === "pdf") {
    const pdf = await pdfToText(bytes);
    type = "pdf";
    text = normaliseText(pdf.text);
    contentTitle = pdf.title;
  } else {
    const raw = normaliseText(sniffed.text);
    type = detectTextType(raw, hint);
    text = raw;
    if (type === "html") {
      const h = htmlToText(raw);
      text = h.text;
      contentTitle = h.title;
    } else if (type === "json") {
      const records = parseJsonOrLines(raw);
      if (records) text = jsonToText(records);
      else type = hint.type === "code" || hint.type === "markdown" ? hint.type : "text";
    } else if (type === "csv") {
      text = csvToText(raw, hint.extension === "tsv" ? "\t" : undefined);
    } else if (type === "code") {
      language =
        hint.language ??
        (raw.startsWith("#!") ? /^#!.*?\b(python|node|bash|sh|ruby|perl)\b/.exec(raw)?.[1] : undefined);
    }
  }
  if (text.trim() === "") {
    throw new ReflexiaError(
      "RFX_EMPTY_DOCUMENT",
      type === "pdf"
        ? "the PDF has no text layer (scanned pages need OCR, which is not supported)"
        : "the document contains no text",
    );
  }
  const explicit = input.title === undefined ? undefined : sanitizeLabel(input.title, 200) || undefined;
  const title = explicit ?? fileTitle ?? contentTitle ?? firstLineTitle(text) ?? "Untitled";
  const mimeType = type === "code" && language ? `text/x-${language}` : MIME_BY_TYPE[type];
  return { text, type, mimeType, title, size, sha256, ...(language ? { language } : {}) };
}
