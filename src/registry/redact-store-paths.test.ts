import { describe, expect, it } from "vitest";
import { redactStorePaths } from "./redact-store-paths.ts";

describe("redactStorePaths", () => {
  const hex = "0123456789abcdef".repeat(4);
  it("replaces blob, staged, partial and uploaded paths, wherever they stand in a message", () => {
    expect(redactStorePaths(`cannot create a context for /home/u/.reflexia/models/blobs/sha256-${hex}: bad`)).toBe(
      "cannot create a context for blob sha256:0123456789ab: bad",
    );
    expect(redactStorePaths(`"/tmp/rfx/models/blobs/sha256-${hex}" is truncated`)).toBe(
      '"blob sha256:0123456789ab" is truncated',
    );
    expect(redactStorePaths(`C:\\data\\models\\blobs\\sha256-${hex}: x`)).toBe("blob sha256:0123456789ab: x");
    expect(redactStorePaths("/srv/models/tmp/7f3a.gguf: no tensors")).toBe("a staged file: no tensors");
    expect(redactStorePaths("/srv/models/partial/abc.part: short")).toBe("a partial download: short");
    expect(redactStorePaths(`/srv/models/uploads/sha256-${hex}: not a GGUF file (bad magic)`)).toBe(
      "uploaded blob sha256:0123456789ab: not a GGUF file (bad magic)",
    );
  });
  it("leaves other paths and plain text alone", () => {
    expect(redactStorePaths("/home/u/Downloads/model.gguf: bad magic")).toBe("/home/u/Downloads/model.gguf: bad magic");
    expect(redactStorePaths("model reflexia-tiny:q4_0 not found")).toBe("model reflexia-tiny:q4_0 not found");
  });
});
