// Parses CSV/TSV (RFC 4180 quoting) and renders each row as "header: value" pairs so rows are retrievable facts.

export function detectDelimiter(text: string, hint?: string): string {
  if (hint) return hint;
  const firstLine = text.slice(0, text.indexOf("\n") === -1 ? text.length : text.indexOf("\n"));
  const counts = [",", "\t", ";", "|"].map((d) => [d, firstLine.split(d).length - 1] as const);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0][1] > 0 ? counts[0][0] : ",";
}

export function parseCsv(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === "") {
      quoted = true;
      i++;
    } else if (c === delimiter) {
      row.push(field);
      field = "";
      i++;
    } else if (c === "\n" || c === "\r") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else {
      field += c;
      i++;
    }
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ""));
}

/** The first row is the header; each further row becomes one line `h1: v1; h2: v2`. */
export function csvToText(text: string, delimiterHint?: string): string {
  const rows = parseCsv(text, detectDelimiter(text, delimiterHint));
  if (rows.length === 0) return "";
  if (rows.length === 1) return rows[0].join(", ");
  const header = rows[0].map((h, i) => h.trim() || `column ${i + 1}`);
  const lines = rows.slice(1).map((r) =>
    r
      .map((v, i) => [header[i] ?? `column ${i + 1}`, v.replace(/\s*\n\s*/g, " ").trim()] as const)
      .filter(([, v]) => v !== "")
      .map(([h, v]) => `${h}: ${v}`)
      .join("; "),
  );
  return lines.filter((l) => l !== "").join("\n");
}
