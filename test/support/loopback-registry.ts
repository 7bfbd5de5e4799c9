// A small registry on loopback speaking Ollama's protocol (GET /v2/<ns>/<model>/manifests/<tag>, GET
// /v2/<ns>/<model>/blobs/<digest> with Range): it stands in for registry.ollama.ai and hf.co in tests.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RegistryModel {
  /** `<namespace>/<model>` */
  repository: string;
  tag: string;
  layers: { mediaType: string; bytes: Buffer; /** Serve other bytes than the digest names. */ corrupt?: boolean }[];
}

export interface LoopbackRegistry {
  url: string;
  /** Every request as `METHOD path` (Range in brackets). */
  requests: string[];
  /** Cut the next blob response after this many body bytes (once). */
  cutNextBlobAfter?: number;
  close(): Promise<void>;
}

export const sha256Digest = (b: Buffer): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export async function startLoopbackRegistry(models: RegistryModel[]): Promise<LoopbackRegistry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, string>();
  for (const m of models) {
    const layers = m.layers.map((l) => {
      const digest = sha256Digest(l.bytes);
      blobs.set(`${m.repository}@${digest}`, l.corrupt ? Buffer.from(l.bytes).fill(0x41, 0, 8) : l.bytes);
      return { mediaType: l.mediaType, digest, size: l.bytes.length };
    });
    const config = Buffer.from(JSON.stringify({ model_format: "gguf" }));
    manifests.set(
      `${m.repository}:${m.tag}`,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config: {
          mediaType: "application/vnd.docker.container.image.v1+json",
          digest: sha256Digest(config),
          size: config.length,
        },
        layers,
      }),
    );
  }
  const state: LoopbackRegistry = { url: "", requests: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "";
    state.requests.push(`${req.method} ${path}${req.headers.range ? ` [${req.headers.range}]` : ""}`);
    const man = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (man) {
      const body = manifests.get(`${man[1]}:${man[2]}`);
      if (!body) {
        res.writeHead(404, { "content-type": "application/json" }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
        return;
      }
      res.writeHead(200, { "content-type": "application/vnd.docker.distribution.manifest.v2+json" }).end(body);
      return;
    }
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    const bytes = blob ? blobs.get(`${blob[1]}@${blob[2]}`) : undefined;
    if (!bytes) {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const headers: Record<string, string> = { "content-type": "application/octet-stream", etag: `"${blob![2]}"` };
    if (range) headers["content-range"] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    headers["content-length"] = String(bytes.length - start);
    res.writeHead(range ? 206 : 200, headers);
    const cut = state.cutNextBlobAfter;
    if (cut !== undefined && !range) {
      state.cutNextBlobAfter = undefined;
      // Flush the first bytes, then drop the connection mid-body as a dying network would.
      res.write(bytes.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(bytes.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
