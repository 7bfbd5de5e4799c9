// Refuses body fields a route does not know, by name: a field that would be accepted and ignored is a bug.
import { ReflexiaError } from "../errors/index.ts";

export function assertKnownFields(body: unknown, known: readonly string[], where = "body"): void {
  if (!body || typeof body !== "object" || Array.isArray(body)) return;
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${where} field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")} not supported here (accepted: ${known.join(", ")})`,
      {
        fields: unknown,
      },
    );
  }
}
