// Commander option parsers that reject bad numbers with the flag named.
import { InvalidArgumentError } from "commander";

export function parseIntOption(flag: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be an integer in [${min}, ${max}]`);
    return n;
  };
}

export function parseNumberOption(flag: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be a number in [${min}, ${max}]`);
    return n;
  };
}

export function parseListOption(v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
