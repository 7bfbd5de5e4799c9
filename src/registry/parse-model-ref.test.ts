import { describe, expect, it } from "vitest";
import { formatModelRef, isValidModelName, parseModelRef } from "./parse-model-ref.ts";

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
});
