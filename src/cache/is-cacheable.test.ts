import { describe, expect, it } from "vitest";
import { isCacheable } from "./is-cacheable.ts";

describe("isCacheable", () => {
  it.each([
    [{ temperature: 0 }, true],
    [{ temperature: 0, seed: 3 }, true],
    [{ temperature: 0.7, seed: 3 }, true],
    [{ temperature: 0.7, seed: 0 }, true],
    [{ temperature: 0.7 }, false],
    [{}, false], // servers default to a non-zero temperature
    [{ temperature: 0.7, seed: null }, false],
    [{ temperature: null }, false],
    [{ temperature: 1, seed: Number.NaN }, false],
    [{ temperature: 0, stream: true }, true],
  ])("deterministicOnly: %j → %s", (input, expected) => {
    expect(isCacheable(input)).toBe(expected);
    expect(isCacheable(input, { deterministicOnly: true })).toBe(expected);
  });

  it("caches everything when deterministicOnly is false", () => {
    expect(isCacheable({ temperature: 0.9 }, { deterministicOnly: false })).toBe(true);
    expect(isCacheable({}, { deterministicOnly: false })).toBe(true);
  });
});
