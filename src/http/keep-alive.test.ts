// keep_alive parsing: Ollama's numbers and Go-style durations.
import { describe, expect, it } from "vitest";
import { ReflexiaError } from "../errors/index.ts";
import { parseKeepAlive } from "./keep-alive.ts";

describe("parseKeepAlive", () => {
  it.each([
    [undefined, undefined],
    [null, undefined],
    ["", undefined],
    [0, 0],
    [30, 30],
    [-5, -1],
    ["-1", -1],
    ["0", 0],
    ["300", 300],
    ["5m", 300],
    ["1h30m", 5400],
    ["1.5s", 1.5],
    ["250ms", 0.25],
    ["-1m", -1],
    // Past setTimeout's range (2^31 − 1 ms ≈ 24.8 days) is forever, not an overflow that unloads at once.
    [1e308, -1],
    ["720h", -1],
    [2_147_484, -1],
    [2_147_483, 2_147_483],
    ["596h", 596 * 3600],
    ["99999999999", -1],
  ] as const)("%j → %j", (input, expected) => {
    expect(parseKeepAlive(input as never)).toBe(expected);
  });

  it.each(["soon", "5 minutes", "m5", "1d", "--1"])("rejects %j with RFX_VALIDATION", (input) => {
    expect(() => parseKeepAlive(input)).toThrow(ReflexiaError);
    try {
      parseKeepAlive(input);
    } catch (e) {
      expect((e as ReflexiaError).code).toBe("RFX_VALIDATION");
    }
  });
});
