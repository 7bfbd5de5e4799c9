// Reads a multipart document upload: exactly one file in the field "file", the optional text fields the JSON route
// also takes (with its limits), and nothing else; every malformed body becomes a 4xx with a code.
import type { MultipartFile, MultipartValue } from "@fastify/multipart";
import type { FastifyRequest } from "fastify";
import { ReflexiaError } from "../errors/index.ts";
import { DOCUMENT_FIELD_MAX_LENGTH } from "./schemas/documents.ts";

export interface Upload {
  content: Buffer;
  /** The client's file name as sent (checked by the caller: a title and a type hint, never a path). */
  filename: string | undefined;
  mimeType: string;
  title?: string;
  source?: string;
}

/** The form fields an upload may carry, limited exactly as the JSON route's fields of the same name. */
export const UPLOAD_FIELDS = {
  title: DOCUMENT_FIELD_MAX_LENGTH.title,
  source: DOCUMENT_FIELD_MAX_LENGTH.source,
} as const;
type UploadField = keyof typeof UPLOAD_FIELDS;

const isUploadField = (name: string): name is UploadField => Object.hasOwn(UPLOAD_FIELDS, name);

/** busboy's and the plugin's errors for a broken body have no HTTP status: they are the client's fault. */
function malformed(e: unknown): unknown {
  if (e instanceof ReflexiaError) return e;
  const err = e as { code?: string; statusCode?: number; message?: string };
  if (
    typeof err?.code === "string" &&
    err.code.startsWith("FST_") &&
    typeof err.statusCode === "number" &&
    err.statusCode < 500
  )
    return e;
  return new ReflexiaError("RFX_BAD_REQUEST", `malformed multipart body: ${err?.message ?? String(e)}`, undefined, {
    cause: e,
  });
}

function checkField(part: MultipartValue, fields: Partial<Record<UploadField, string>>): void {
  const name = part.fieldname;
  if (part.fieldnameTruncated)
    throw new ReflexiaError("RFX_VALIDATION", "a form field name is longer than the server reads");
  if (!isUploadField(name)) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `unknown form field ${JSON.stringify(name.slice(0, 100))}; an upload takes "file" and optionally ${Object.keys(
        UPLOAD_FIELDS,
      )
        .map((f) => `"${f}"`)
        .join(", ")}`,
    );
  }
  if (fields[name] !== undefined) throw new ReflexiaError("RFX_VALIDATION", `the form field "${name}" is sent twice`);
  const value = part.value;
  if (typeof value !== "string") throw new ReflexiaError("RFX_VALIDATION", `the form field "${name}" must be text`);
  const limit = UPLOAD_FIELDS[name];
  // A value cut by the parser's field-size limit is refused, never stored shortened.
  if (part.valueTruncated || value.length > limit) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `the form field "${name}" is longer than ${limit} characters (the same limit as the JSON route)`,
    );
  }
  fields[name] = value;
}

/**
 * Reads the whole multipart body. A second file, an unknown or repeated field, or an over-long one is refused
 * before the caller stores anything; `onFile` checks the client's file name before its bytes are read.
 */
export async function readUpload(
  request: FastifyRequest,
  onFile: (filename: string | undefined) => string | undefined,
): Promise<Upload> {
  const fields: Partial<Record<UploadField, string>> = {};
  let file: { content: Buffer; filename: string | undefined; mimeType: string } | undefined;
  let current: MultipartFile | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === "field") {
        checkField(part, fields);
        continue;
      }
      current = part;
      if (part.fieldname !== "file") {
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `the file must be sent in the field "file", not ${JSON.stringify(part.fieldname.slice(0, 100))}`,
        );
      }
      if (file)
        throw new ReflexiaError("RFX_VALIDATION", "the upload has more than one file; send one file per request");
      const filename = onFile(part.filename || undefined);
      // toBuffer throws FST_REQ_FILE_TOO_LARGE (→ 413) past the limit; nothing is stored before this returns.
      file = { content: await part.toBuffer(), filename, mimeType: part.mimetype };
      current = undefined;
    }
  } catch (e) {
    // Drain the part being refused so the connection stays usable for the error response.
    current?.file.resume();
    throw malformed(e);
  }
  if (!file) throw new ReflexiaError("RFX_VALIDATION", 'the multipart body has no file (send it in the field "file")');
  return { ...file, ...fields };
}
