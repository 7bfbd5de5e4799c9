import { describe, expect, it } from "vitest";
import { createStopMatcher } from "./nlc-stop-matcher.ts";

function feed(stops: string[], chunks: string[]) {
  const m = createStopMatcher(stops);
  const out: string[] = [];
  for (const c of chunks) {
    const e = m.push(c);
    if (e) out.push(e);
    if (m.stopped) break;
  }
  const rest = m.flush();
  if (rest) out.push(rest);
  return { text: out.join(""), chunks: out, stopped: m.stopped };
}

describe("stop matcher", () => {
  it("passes text straight through without stops", () => {
    expect(feed([], ["a", "b", "c"])).toEqual({ text: "abc", chunks: ["a", "b", "c"], stopped: false });
  });

  it("cuts before a stop string split over several chunks and never emits any part of it", () => {
    const r = feed(["\nUser:"], ["Hello", " world", "\n", "Us", "er", ":", " more"]);
    expect(r.text).toBe("Hello world");
    expect(r.stopped).toBe(true);
    for (const c of r.chunks) expect(c).not.toMatch(/\n|Us/);
  });

  it("releases held text that turns out not to be a stop", () => {
    const r = feed(["END"], ["the E", "ND", "less"]);
    expect(r.text).toBe("the ");
    const r2 = feed(["END"], ["the E", "nd", " ok"]);
    expect(r2).toMatchObject({ text: "the End ok", stopped: false });
  });

  it("flushes a trailing partial match at the end of the stream", () => {
    expect(feed(["###"], ["a#", "#"])).toMatchObject({ text: "a##", stopped: false });
  });

  it("stops at the earliest of several stop strings, including one inside a chunk", () => {
    expect(feed(["zz", "b"], ["aaab zz"]).text).toBe("aaa");
    expect(feed(["</s>", "\n\n"], ["x\n", "\ny</s>"]).text).toBe("x");
  });
});
