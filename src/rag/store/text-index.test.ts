import { describe, expect, it } from "vitest";
import { createTextIndex } from "./text-index.ts";

describe("createTextIndex", () => {
  it("scores by BM25 over live slots, and after purge() a removed slot can be reused without its old postings", () => {
    const t = createTextIndex();
    t.add(0, "harbour lighthouse harbour");
    t.add(1, "mountain lighthouse");
    t.add(2, "river delta");
    expect(t.search("harbour", 5).map((h) => h.slot)).toEqual([0]);
    expect(t.search("lighthouse", 5).map((h) => h.slot)).toEqual([1, 0]);
    expect(t.search("the and of", 5)).toEqual([]);
    t.remove(0, "harbour lighthouse harbour");
    expect(t.search("harbour", 5)).toEqual([]);
    expect(t.stats()).toMatchObject({ slots: 2, deadPostings: 2 });
    t.purge();
    expect(t.stats()).toMatchObject({ slots: 2, deadPostings: 0, postings: 4 });
    // Slot 0 now holds other text: the old "harbour" posting must not resurface.
    t.add(0, "glacier fjord");
    expect(t.search("harbour", 5)).toEqual([]);
    expect(
      t
        .search("fjord lighthouse", 5)
        .map((h) => h.slot)
        .sort(),
    ).toEqual([0, 1]);
    expect(() => t.add(1, "again")).toThrow(/live/);
    t.clear();
    expect(t.stats()).toMatchObject({ slots: 0, terms: 0, postings: 0 });
  });
});
