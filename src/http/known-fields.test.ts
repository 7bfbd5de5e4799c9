import { Type } from "typebox";
import { describe, expect, it } from "vitest";
import { assertKnownNested } from "./known-fields.ts";
import { nullable } from "./schemas/common.ts";

const refusal = (value: unknown, schema: unknown, where?: string): string | undefined => {
  try {
    assertKnownNested(value, schema, where);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

describe("assertKnownNested", () => {
  const item = Type.Union([
    Type.Object({ type: Type.Optional(Type.Literal("message")), role: Type.String(), content: Type.String() }),
    Type.Object({ type: Type.Literal("call"), name: Type.String() }),
  ]);
  const body = Type.Object({
    items: Type.Array(item),
    choice: nullable(Type.Union([Type.String(), Type.Object({ name: Type.String() })])),
    schema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  });

  it("names a body's own unknown field as the body's, and a nested one by its path", () => {
    expect(refusal({ items: [], extra: 1 }, body)).toBe(
      'body field "extra" not supported here (accepted: items, choice, schema)',
    );
    expect(refusal({ items: [{ role: "u", content: "c", x: 1 }] }, body)).toBe(
      'items[0] field "x" not supported here (accepted: type, role, content)',
    );
    expect(refusal({ items: [] }, body, "input")).toBeUndefined();
  });

  it("follows a discriminated union by its type literal, or to the member that leaves type out", () => {
    expect(refusal({ items: [{ type: "call", name: "f", role: "u" }] }, body)).toBe(
      'items[0] field "role" not supported here (accepted: type, name)',
    );
    expect(refusal({ items: [{ type: "message", role: "u", content: "c", name: "n" }] }, body)).toContain(
      'items[0] field "name"',
    );
    // No member carries this type: the route's own checks say what is wrong; nothing is walked.
    expect(refusal({ items: [{ type: "image", url: "u" }] }, body)).toBeUndefined();
  });

  it("flattens a union of unions (nullable) and leaves records and non-objects alone", () => {
    expect(refusal({ items: [], choice: { name: "f", force: true } }, body)).toBe(
      'choice field "force" not supported here (accepted: name)',
    );
    expect(refusal({ items: [], choice: "auto" }, body)).toBeUndefined();
    expect(refusal({ items: [], choice: null }, body)).toBeUndefined();
    expect(refusal({ items: [], schema: { anything: { goes: 1 } } }, body)).toBeUndefined();
    expect(refusal([1, 2], body)).toBeUndefined();
  });

  it("checks an object schema that also carries anyOf of required fields (not a union)", () => {
    const named = Type.Object(
      { model: Type.Optional(Type.String()), name: Type.Optional(Type.String()) },
      { anyOf: [{ required: ["model"] }, { required: ["name"] }] },
    );
    expect(refusal({ model: "m", verbose: true }, named)).toBe(
      'body field "verbose" not supported here (accepted: model, name)',
    );
  });
});
