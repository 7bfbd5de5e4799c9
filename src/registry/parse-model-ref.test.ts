import { describe, expect, it } from "vitest";
import { formatModelRef, isValidModelName, lookupRef, parseModelRef } from "./parse-model-ref.ts";

describe("parseModelRef", () => {
  it("splits name:tag and keeps a bare name without tag", () => {
    expect(parseModelRef("reflexia-tiny:q4_0")).toEqual({ name: "reflexia-tiny", tag: "q4_0" });
    expect(parseModelRef("  llama3.2 ")).toEqual({ name: "llama3.2" });
    expect(parseModelRef("user/model:7b-instruct-q4_K_M")).toEqual({ name: "user/model", tag: "7b-instruct-q4_K_M" });
    expect(formatModelRef({ name: "a", tag: "b" })).toBe("a:b");
  });

  it("reads a registry host's port as Ollama spells a pulled name, naming the model stored with '_' for ':'", () => {
    expect(parseModelRef("127.0.0.1:5000/library/tiny")).toEqual({ name: "127.0.0.1_5000/library/tiny" });
    expect(parseModelRef("LocalHost:5000/ns/m:q4_0")).toEqual({ name: "localhost_5000/ns/m", tag: "q4_0" });
    expect(parseModelRef("127.0.0.1_5000/library/tiny:latest")).toEqual({
      name: "127.0.0.1_5000/library/tiny",
      tag: "latest",
    });
    for (const bad of ["host:port/m", "a:5000/../x", "a:5000/"])
      expect(() => parseModelRef(bad), bad).toThrow(expect.objectContaining({ code: "RFX_VALIDATION" }));
    expect(formatModelRef({ name: "a" })).toBe("a");
  });

  it("rejects names that could escape the store or are empty, with RFX_VALIDATION", () => {
    for (const bad of ["", "../x", "a/../b", "/abs", "a//b", ".hidden", "a:", ":tag", "a:b:c", "a:../x", "sp ace"]) {
      expect(() => parseModelRef(bad), bad).toThrow(expect.objectContaining({ code: "RFX_VALIDATION" }));
    }
    expect(isValidModelName("a/b/c/d/e")).toBe(false);
    expect(isValidModelName("x".repeat(129))).toBe(false);
  });

  it("lookupRef: a tag that is a quantization name in any case is the stored one; latest is the untagged name", () => {
    const stored = ["q4_0", "Q8_0", "f16", "Q4_K_M", "q4_k_m", "v2"];
    expect(lookupRef({ name: "m", tag: "Q4_0" }, stored)).toEqual({ name: "m", tag: "q4_0" });
    expect(lookupRef({ name: "m", tag: "q8_0" }, stored)).toEqual({ name: "m", tag: "Q8_0" });
    expect(lookupRef({ name: "m", tag: "F16" }, stored)).toEqual({ name: "m", tag: "f16" });
    // Spelled as stored wins; else the lower-case spelling.
    expect(lookupRef({ name: "m", tag: "Q4_K_M" }, stored)).toEqual({ name: "m", tag: "Q4_K_M" });
    expect(lookupRef({ name: "m", tag: "q4_K_m" }, stored)).toEqual({ name: "m", tag: "q4_k_m" });
    // A label is matched as spelled; an absent quantization stays as asked (not found by the caller).
    expect(lookupRef({ name: "m", tag: "V2" }, stored)).toEqual({ name: "m", tag: "V2" });
    expect(lookupRef({ name: "m", tag: "Q5_K_M" }, stored)).toEqual({ name: "m", tag: "Q5_K_M" });
    expect(lookupRef({ name: "m", tag: "latest" }, stored)).toEqual({ name: "m" });
    expect(lookupRef({ name: "m", tag: "latest" }, [...stored, "latest"])).toEqual({ name: "m", tag: "latest" });
    expect(lookupRef({ name: "m" }, stored)).toEqual({ name: "m" });
  });
});
