// Pulls GGUF files from a real local HTTP server: interruption + resume, ignored ranges, 404, sha256 and format checks.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { downloadWithResume } from "../src/registry/download-with-resume.ts";
import { createModelStore, type DownloadProgress, type ModelStore } from "../src/registry/index.ts";
import { cleanupTempDirs, makeTempDir, removeDir, sha256, snapshotStore, writeTinyGguf } from "./registry-fixtures.ts";

interface ServerBehaviour {
  /** Destroy the socket after sending this many body bytes of the next full (200) response, once. */
  cutAfter?: number;
  /** Answer every request with the whole file (200), as servers without Range support do. */
  ignoreRange?: boolean;
  /** Send no ETag (so If-Range falls back to Last-Modified). */
  noEtag?: boolean;
  /** Send this many body bytes of a full response, then nothing, keeping the connection open. */
  stallAfter?: number;
  /** Accept the request and never answer it. */
  silent?: boolean;
  /** Send the body one byte at a time, this many ms apart. */
  trickleMs?: number;
}

let work: string;
let gguf: { path: string; sha256: string; bytes: Buffer };
let server: Server;
let base: string;
let behaviour: ServerBehaviour = {};
let requests: { url: string; headers: IncomingHttpHeaders; status: number }[] = [];
const ETAG = '"tiny-v1"';
const LAST_MODIFIED = new Date(Date.UTC(2024, 0, 1)).toUTCString();

beforeAll(async () => {
  work = makeTempDir();
  gguf = await writeTinyGguf(work, 11);
  server = createServer((req, res) => {
    const record = (status: number) => requests.push({ url: req.url ?? "", headers: req.headers, status });
    if (behaviour.silent) return;
    const body =
      req.url === "/model.gguf"
        ? gguf.bytes
        : req.url === "/notes.txt"
          ? Buffer.from("not a model\n".repeat(1000))
          : undefined;
    if (!body) {
      record(404);
      res.writeHead(404).end("not found");
      return;
    }
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      "last-modified": LAST_MODIFIED,
      "accept-ranges": "bytes",
    };
    if (!behaviour.noEtag) headers.etag = ETAG;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const ifRange = req.headers["if-range"];
    const validatorOk = !ifRange || ifRange === ETAG || ifRange === LAST_MODIFIED;
    if (range && !behaviour.ignoreRange && validatorOk) {
      const start = Number(range[1]);
      if (start >= body.length) {
        record(416);
        res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
        return;
      }
      record(206);
      res.writeHead(206, {
        ...headers,
        "content-length": String(body.length - start),
        "content-range": `bytes ${start}-${body.length - 1}/${body.length}`,
      });
      res.end(body.subarray(start));
      return;
    }
    record(200);
    res.writeHead(200, { ...headers, "content-length": String(body.length) });
    if (behaviour.stallAfter !== undefined) {
      res.write(body.subarray(0, behaviour.stallAfter));
      return;
    }
    if (behaviour.trickleMs !== undefined) {
      let i = 0;
      const t = setInterval(
        () => (res.destroyed || i >= body.length ? clearInterval(t) : res.write(body.subarray(i, ++i))),
        behaviour.trickleMs,
      );
      return;
    }
    const cut = behaviour.cutAfter;
    if (cut !== undefined) {
      behaviour = { ...behaviour, cutAfter: undefined };
      // Flush the first bytes, then drop the connection mid-body as a dying network would.
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await cleanupTempDirs();
});

let store: ModelStore;
beforeEach(() => {
  behaviour = {};
  requests = [];
  store = createModelStore({ home: makeTempDir("rfx-home-") });
});

const partials = () => readdirSync(join(store.root, "partial")).filter((f) => f.endsWith(".part"));

describe("pull from a server that stalls or trickles fails in bounded time, keeping the partial for a resume", () => {
  const watchdog = { readTimeoutSeconds: 1, minBytesPerSecond: 1024 };
  const failure = (p: Promise<unknown>, text: RegExp) =>
    expect(p).rejects.toSatisfy((e: any) => e.code === "RFX_DOWNLOAD_FAILED" && text.test(e.message));

  it("stalls mid-body: fails with a one-line reason, then the next pull resumes from the kept bytes", async () => {
    behaviour = { stallAfter: 100_000 };
    const before = await snapshotStore(store);
    await failure(
      store.pull(`${base}/model.gguf`, { name: "slow", ...watchdog }),
      /stalled: no data in 1 s .*PULL_READ_TIMEOUT.*100000 bytes kept/,
    );
    expect(partials()).toHaveLength(1);
    expect((await snapshotStore(store)).listing).toEqual(before.listing);
    server.closeAllConnections();
    behaviour = {};
    const r = await store.pull(`${base}/model.gguf`, { name: "slow", sha256: gguf.sha256, ...watchdog });
    expect(r.resumedFrom).toBe(100_000);
    expect(requests.at(-1)).toMatchObject({ status: 206 });
  }, 15_000);

  it("never answers: fails without waiting for headers forever", async () => {
    behaviour = { silent: true };
    await failure(store.pull(`${base}/model.gguf`, { name: "mute", ...watchdog }), /stalled: no data in 1 s/);
    expect((await store.list()).length).toBe(0);
    server.closeAllConnections();
  }, 15_000);

  it("trickles one byte every 50 ms: under the minimum rate, so it fails too", async () => {
    behaviour = { trickleMs: 50 };
    await failure(
      store.pull(`${base}/model.gguf`, { name: "drip", ...watchdog }),
      /stalled: \d+ bytes in 1 s \(less than 1024 bytes\/s/,
    );
    expect((await store.list()).length).toBe(0);
    server.closeAllConnections();
  }, 15_000);

  it("a rate of 0 only fails a full stall, not a trickle", async () => {
    behaviour = { trickleMs: 20, noEtag: true };
    const slow = store.pull(`${base}/model.gguf`, { name: "patient", readTimeoutSeconds: 0.5, minBytesPerSecond: 0 });
    await new Promise((r) => setTimeout(r, 2500));
    // Still going after 5 windows: bytes keep arriving.
    expect(partials()).toHaveLength(1);
    server.closeAllConnections();
    await failure(slow, /interrupted|stalled/);
  }, 15_000);
});

describe("pull", () => {
  it("downloads, validates and adds a GGUF; tag defaults to its file type", async () => {
    const progress: DownloadProgress[] = [];
    const r = await store.pull(`${base}/model.gguf`, {
      name: "web",
      sha256: gguf.sha256,
      onProgress: (p) => progress.push(p),
    });
    expect(r.manifest).toMatchObject({
      name: "web",
      tag: "f16",
      digest: `sha256:${gguf.sha256}`,
      sizeBytes: gguf.bytes.length,
      source: { kind: "url", from: `${base}/model.gguf` },
    });
    expect(r.resumedFrom).toBe(0);
    expect(progress.at(-1)).toEqual({
      receivedBytes: gguf.bytes.length,
      totalBytes: gguf.bytes.length,
      resumedFrom: 0,
    });
    expect(readFileSync((await store.resolve("web:f16")).path).equals(gguf.bytes)).toBe(true);
    expect(readdirSync(join(store.root, "partial")).filter((f) => !f.endsWith(".lock"))).toEqual([]);
  });

  it("resumes after the server drops the connection midway, with a Range request, to a byte-identical file", async () => {
    const cut = Math.floor(gguf.bytes.length / 3);
    behaviour = { cutAfter: cut };
    await expect(store.pull(`${base}/model.gguf`, { name: "web", tag: "v1" })).rejects.toMatchObject({
      code: "RFX_DOWNLOAD_FAILED",
    });
    expect(await store.list()).toEqual([]);
    expect(partials()).toHaveLength(1);
    const kept = readFileSync(join(store.root, "partial", partials()[0]));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(gguf.bytes.length);
    expect(kept.equals(gguf.bytes.subarray(0, kept.length))).toBe(true);

    const r = await store.pull(`${base}/model.gguf`, { name: "web", tag: "v1", sha256: gguf.sha256 });
    expect(r.resumedFrom).toBe(kept.length);
    const second = requests.at(-1)!;
    expect(second.headers.range).toBe(`bytes=${kept.length}-`);
    expect(second.headers["if-range"]).toBe(ETAG);
    expect(second.status).toBe(206);
    const blob = readFileSync((await store.resolve("web:v1")).path);
    expect(sha256(blob)).toBe(gguf.sha256);
    expect(blob.equals(gguf.bytes)).toBe(true);
    expect(partials()).toEqual([]);
  });

  it("resumes after an abort through the signal, using Last-Modified for If-Range when there is no ETag", async () => {
    behaviour = { noEtag: true };
    const controller = new AbortController();
    const abortAt = 1 << 20;
    await expect(
      store.pull(`${base}/model.gguf`, {
        name: "web",
        signal: controller.signal,
        onProgress: (p) => p.receivedBytes >= abortAt && controller.abort(),
      }),
    ).rejects.toMatchObject({ code: "RFX_CANCELLED" });
    const kept = readFileSync(join(store.root, "partial", partials()[0])).length;
    expect(kept).toBeGreaterThanOrEqual(abortAt);
    expect(kept).toBeLessThan(gguf.bytes.length);

    const r = await store.pull(`${base}/model.gguf`, { name: "web" });
    expect(r.resumedFrom).toBe(kept);
    expect(requests.at(-1)!.headers.range).toBe(`bytes=${kept}-`);
    expect(requests.at(-1)!.headers["if-range"]).toBe(LAST_MODIFIED);
    expect(sha256(readFileSync((await store.resolve("web")).path))).toBe(gguf.sha256);
  });

  it("restarts from zero when the server ignores Range, still ending byte-identical", async () => {
    behaviour = { cutAfter: 100_000 };
    await expect(store.pull(`${base}/model.gguf`, { name: "web" })).rejects.toMatchObject({
      code: "RFX_DOWNLOAD_FAILED",
    });
    behaviour = { ignoreRange: true };
    const r = await store.pull(`${base}/model.gguf`, { name: "web", sha256: gguf.sha256 });
    expect(requests.at(-1)!.headers.range).toMatch(/^bytes=\d+-$/);
    expect(requests.at(-1)!.status).toBe(200);
    expect(r.manifest.sizeBytes).toBe(gguf.bytes.length);
    expect(readFileSync((await store.resolve("web")).path).equals(gguf.bytes)).toBe(true);
  });
});

describe("pull failures leave the store unchanged", () => {
  let before: Awaited<ReturnType<typeof snapshotStore>>;
  beforeEach(async () => {
    await store.add(gguf.path, { name: "keep" });
    before = await snapshotStore(store);
  });

  it("404 → RFX_DOWNLOAD_FAILED with the status", async () => {
    const err = await store.pull(`${base}/missing.gguf`, { name: "web" }).catch((e) => e);
    expect(err).toMatchObject({ code: "RFX_DOWNLOAD_FAILED", details: { status: 404 } });
    expect(err.message).toContain("HTTP 404");
    expect(await snapshotStore(store)).toEqual(before);
  });

  it("sha256 mismatch → RFX_DOWNLOAD_FAILED, download discarded", async () => {
    const err = await store.pull(`${base}/model.gguf`, { name: "web", sha256: "ab".repeat(32) }).catch((e) => e);
    expect(err).toMatchObject({
      code: "RFX_DOWNLOAD_FAILED",
      details: { expected: "ab".repeat(32), actual: gguf.sha256 },
    });
    expect(await snapshotStore(store)).toEqual(before);
  });

  it("a file that is not GGUF → RFX_INVALID_GGUF naming the URL, download discarded", async () => {
    await expect(store.pull(`${base}/notes.txt`, { name: "web" })).rejects.toMatchObject({
      code: "RFX_INVALID_GGUF",
      message: `${base}/notes.txt: not a GGUF file (bad magic); only GGUF files can be pulled`,
    });
    expect(await snapshotStore(store)).toEqual(before);
  });

  it("without --tag, a name whose tag the file type would take is refused once the header is in, not after the whole file", async () => {
    const seen: number[] = [];
    const err = await store
      .pull(`${base}/model.gguf`, { name: "keep", onProgress: (p) => seen.push(p.receivedBytes) })
      .catch((e) => e);
    expect(err).toMatchObject({ code: "RFX_MODEL_EXISTS", message: expect.stringContaining("keep:f16") });
    expect(Math.max(...seen)).toBeLessThan(gguf.bytes.length);
    expect((await snapshotStore(store)).listing).toEqual(before.listing);
  });

  it("a --tag naming another quantization than the file's is refused once the header is in (the tag is the quantization)", async () => {
    const seen: number[] = [];
    await expect(
      store.pull(`${base}/model.gguf`, { name: "web", tag: "q4_0", onProgress: (p) => seen.push(p.receivedBytes) }),
    ).rejects.toMatchObject({
      code: "RFX_VALIDATION",
      message: expect.stringContaining('tag "q4_0" names the quantization q4_0, but the file is f16'),
    });
    expect(Math.max(...seen)).toBeLessThan(gguf.bytes.length);
    expect((await snapshotStore(store)).listing).toEqual(before.listing);
  });

  it("an unreachable server, a non-http URL and an existing tag fail before writing anything", async () => {
    const server2 = createServer();
    await new Promise<void>((r) => server2.listen(0, "127.0.0.1", r));
    const deadPort = (server2.address() as AddressInfo).port;
    await new Promise((r) => server2.close(r));
    await expect(store.pull(`http://127.0.0.1:${deadPort}/x.gguf`, { name: "web" })).rejects.toMatchObject({
      code: "RFX_DOWNLOAD_FAILED",
    });
    await expect(store.pull(`file://${gguf.path}`, { name: "web" })).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    // https:// to a plain-http server: one sentence with the remedy, not OpenSSL's multi-line text.
    const tls = await store.pull(`${base.replace(/^http:/, "https:")}/model.gguf`, { name: "web" }).catch((e) => e);
    expect(tls).toMatchObject({ code: "RFX_DOWNLOAD_FAILED" });
    expect(tls.message).toMatch(/failed: the server answered in plain HTTP, not HTTPS; use its http:\/\/ URL/);
    expect(tls.message).not.toContain("\n");
    await expect(store.pull(`${base}/model.gguf`, { name: "keep", tag: "f16" })).rejects.toMatchObject({
      code: "RFX_MODEL_EXISTS",
    });
    expect(requests).toEqual([]);
    expect(await snapshotStore(store)).toEqual(before);
  });
});

describe("downloadWithResume edge cases", () => {
  it("finishes without a body when the partial file is already complete (416 to the Range request)", async () => {
    const dir = makeTempDir("rfx-dl-");
    const url = `${base}/model.gguf`;
    const partPath = join(dir, "x.part");
    const metaPath = join(dir, "x.json");
    writeFileSync(partPath, gguf.bytes);
    writeFileSync(metaPath, JSON.stringify({ url, etag: ETAG, totalBytes: gguf.bytes.length }));
    const r = await downloadWithResume({ url, partPath, metaPath });
    expect(requests.map((q) => q.status)).toEqual([416]);
    expect(r).toEqual({
      sha256: gguf.sha256,
      sizeBytes: gguf.bytes.length,
      resumedFrom: gguf.bytes.length,
      requests: 1,
    });
    await removeDir(dir);
  });

  it("does not trust a partial file without its sidecar: starts over with a plain request", async () => {
    const dir = makeTempDir("rfx-dl-");
    const partPath = join(dir, "x.part");
    writeFileSync(partPath, Buffer.from("garbage that is not a prefix"));
    const r = await downloadWithResume({ url: `${base}/model.gguf`, partPath, metaPath: join(dir, "x.json") });
    expect(requests[0].headers.range).toBeUndefined();
    expect(r.sha256).toBe(gguf.sha256);
    expect(readFileSync(partPath).equals(gguf.bytes)).toBe(true);
    await removeDir(dir);
  });
});
