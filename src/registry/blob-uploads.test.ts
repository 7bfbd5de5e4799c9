import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { createBlobUploads, UPLOAD_KEEP_MS } from "./blob-uploads.ts";

const root = mkdtempSync(join(tmpdir(), "rfx-uploads-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function setup() {
  const dir = join(root, `s${n++}`);
  const blobs = join(dir, "blobs");
  const uploads = createBlobUploads(dir, (d) => join(blobs, `sha256-${d.slice(7)}`));
  const put = async (text: string) => {
    const digest = `sha256:${createHash("sha256").update(text).digest("hex")}`;
    await uploads.receive(digest, Readable.from([Buffer.from(text)]));
    return digest;
  };
  return { dir, blobs, uploads, put, uploaded: () => readdirSync(join(dir, "uploads")) };
}

describe("blob uploads", () => {
  it("a used upload is deleted when the last create holding it is done; an unused or failed one stays", async () => {
    const { uploads, put, uploaded } = setup();
    const d = await put("model bytes");
    const a = uploads.hold(d)!;
    const b = uploads.hold(d)!;
    expect(existsSync(a.path)).toBe(true);
    await a.done(true);
    expect(existsSync(b.path), "another create still reads it").toBe(true);
    await b.done(false);
    expect(uploaded()).toEqual([]);

    const e = await put("other bytes");
    await uploads.hold(e)!.done(false);
    expect(uploads.has(e), "a failed create keeps its upload").toBe(true);
    const h = uploads.hold(e)!;
    await h.done(true);
    await h.done(true); // twice is once
    expect(uploads.has(e)).toBe(false);
    expect(uploads.hold(e)).toBeUndefined();
  });

  it("never deletes a model's blob", async () => {
    const { blobs, uploads } = setup();
    const text = "stored model";
    const digest = `sha256:${createHash("sha256").update(text).digest("hex")}`;
    const path = join(blobs, `sha256-${digest.slice(7)}`);
    mkdirSync(blobs, { recursive: true });
    writeFileSync(path, text);
    const h = uploads.hold(digest)!;
    expect(h.path).toBe(path);
    await h.done(true);
    expect(existsSync(path)).toBe(true);
    expect((await uploads.prune(0)).files).toBe(0);
    expect(existsSync(path)).toBe(true);
  });

  it("prune deletes uploads older than the window that no create holds, and partial uploads of dead processes", async () => {
    const { dir, uploads, put, uploaded } = setup();
    const old = await put("old");
    const held = await put("held");
    const recent = await put("recent");
    const past = new Date(Date.now() - UPLOAD_KEEP_MS - 60_000);
    for (const d of [old, held]) utimesSync(join(dir, "uploads", `sha256-${d.slice(7)}`), past, past);
    const h = uploads.hold(held)!;
    // A partial upload of a process that is gone, and one of this process (still receiving).
    writeFileSync(join(dir, "uploads", ".tmp-999999999-abc.upload"), "partial");
    writeFileSync(join(dir, "uploads", `.tmp-${process.pid}-def.upload`), "partial");
    expect(await uploads.prune(UPLOAD_KEEP_MS)).toEqual({ files: 2, bytes: "old".length + "partial".length });
    expect(uploads.has(old)).toBe(false);
    expect(uploads.has(held), "held by a create").toBe(true);
    expect(uploads.has(recent), "within the window").toBe(true);
    expect(uploaded()).toContain(`.tmp-${process.pid}-def.upload`);
    await h.done(false);
    expect((await uploads.prune(UPLOAD_KEEP_MS)).files).toBe(1);
    expect(uploads.has(held)).toBe(false);
  });
});
