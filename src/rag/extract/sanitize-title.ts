// Turns a client-supplied file name into a display title; the name is never used as a path.

/** Longest title kept; longer names are cut (titles are labels, not identifiers). */
const MAX_TITLE_CHARS = 200;

/**
 * Returns the last path component with control characters removed, or undefined when nothing printable is left
 * (`"../../etc/passwd"` → `"passwd"`, `".."` → undefined).
 */
export function sanitizeTitle(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  // Both separators: a Windows client sends backslashes.
  const parts = name.split(/[\\/]+/);
  let base = parts[parts.length - 1] ?? "";
  base = base.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, "");
  base = base.replace(/\s+/g, " ").trim();
  if (base === "" || /^\.+$/.test(base)) return undefined;
  return base.length > MAX_TITLE_CHARS ? base.slice(0, MAX_TITLE_CHARS) : base;
}

/** Cleans a free-form source label (control characters out, length bounded); it stays an opaque string. */
export function sanitizeLabel(label: string, maxChars = 1024): string {
  const clean = label.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  return clean.length > maxChars ? clean.slice(0, maxChars) : clean;
}
