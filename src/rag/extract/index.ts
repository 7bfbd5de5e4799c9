// Document extraction: content sniffing, per-type text extraction, safe titles.
export { extractDocument, type ExtractInput, type ExtractOptions, type ExtractedDocument } from "./extract-document.ts";
export { sniffContent, type SniffResult } from "./sniff-content.ts";
export { htmlToText, decodeHtmlEntities } from "./html-to-text.ts";
export { jsonToText, parseJsonOrLines } from "./json-to-text.ts";
export { csvToText, parseCsv } from "./csv-to-text.ts";
export { pdfToText } from "./pdf-to-text.ts";
export { sanitizeTitle, sanitizeLabel } from "./sanitize-title.ts";
export { writeMinimalPdf } from "./write-minimal-pdf.ts";
