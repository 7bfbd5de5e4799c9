import { describe, expect, it } from "vitest";
import { createReflexiaClient } from "./create-client.ts";

/** A client whose fetch records each request and answers `reply`. */
function clientAnswering(reply: () => Response) {
  const seen: { method: string; headers: Headers; body: unknown }[] = [];
  const client = createReflexiaClient({
    baseUrl: "http://reflexia.test",
    apiKey: "k",
    fetch: async (_url, init) => {
      seen.push({ method: init?.method ?? "GET", headers: new Headers(init?.headers), body: init?.body });
      return reply();
    },
  });
  return { client, seen };
}

describe("createReflexiaClient", () => {
  it("sends content-type: application/json only with a body (a body-less DELETE is not an empty JSON body)", async () => {
    const { client, seen } = clientAnswering(() => new Response(null, { status: 204 }));
    await client.call("DELETE", "/api/documents/abc");
    await client.call("POST", "/api/show", { model: "m" });
    expect(seen[0].headers.has("content-type")).toBe(false);
    expect(seen[0].body).toBeUndefined();
    expect(seen[1].headers.get("content-type")).toBe("application/json");
    expect(seen.map((s) => s.headers.get("authorization"))).toEqual(["Bearer k", "Bearer k"]);
  });

  it("takes a stream's last line without its newline (the one-object load-only answer)", async () => {
    const load = { model: "m", response: "", done: true, done_reason: "load" };
    const { client } = clientAnswering(() => new Response(JSON.stringify(load)));
    expect(await client.generateStream({ model: "m", prompt: "" })).toEqual(load);
    const split = clientAnswering(
      () => new Response(`{"response":"a","done":false}\n{"response":"","done":true,"done_reason":"stop"}`),
    );
    const texts: string[] = [];
    const final = await split.client.generateStream({ prompt: "x" }, { onText: (t) => texts.push(t) });
    expect(texts).toEqual(["a"]);
    expect(final.done_reason).toBe("stop");
  });

  it("uploads a blob from a stream it opens only when the server lacks the blob (no file is read whole)", async () => {
    let has = 200;
    const { client, seen } = clientAnswering(() => new Response(null, { status: seen.length === 1 ? has : 201 }));
    let opened = 0;
    const open = () => {
      opened++;
      return new Blob([new Uint8Array([1, 2, 3])]).stream();
    };
    await client.uploadBlob("sha256:ab", open);
    expect(opened).toBe(0);
    seen.length = 0;
    has = 404;
    await client.uploadBlob("sha256:ab", open);
    expect(opened).toBe(1);
    expect(seen.map((s) => s.method)).toEqual(["HEAD", "POST"]);
    expect(seen[1].body).toBeInstanceOf(ReadableStream);
  });
});
