// Parsing of Ollama-style keep_alive values into seconds (-1 = forever).
import { ReflexiaError } from "../errors/index.ts";
import { MAX_TIMER_MS } from "../scheduler/index.ts";

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * Accepts a number of seconds or a Go-style duration ("5m", "1h30m", "300ms", "-1", "0"); any negative value
 * means keep forever, and so does a duration too long for a timer (≥ about 24.8 days: "720h", 1e308), which is
 * how Ollama's clients ask for "forever" too. Undefined stays undefined (the server default applies).
 */
export function parseKeepAlive(value: number | string | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number") {
    if (!Number.isFinite(value))
      throw new ReflexiaError("RFX_VALIDATION", "keep_alive must be a finite number of seconds");
    return value < 0 || value * 1000 >= MAX_TIMER_MS ? -1 : value;
  }
  const s = value.trim();
  if (s === "") return undefined;
  if (/^-?\d+(\.\d+)?$/.test(s)) return parseKeepAlive(Number(s));
  const m = /^(-)?((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(s);
  if (!m)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `keep_alive ${JSON.stringify(value)} is not a duration (e.g. "5m", "1h", "30s", -1)`,
    );
  let total = 0;
  for (const part of m[2].matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g))
    total += Number(part[1]) * UNIT_SECONDS[part[2]];
  return m[1] ? -1 : parseKeepAlive(total);
}
