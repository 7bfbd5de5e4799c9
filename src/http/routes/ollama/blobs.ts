// HEAD/POST /api/blobs/:digest: whether the server holds a blob, and uploading one (its sha256 checked against
// the URL) so that /api/create can build a model from `files`.
import type { Readable } from "node:stream";
import { Type } from "typebox";
import type { AppDeps, RouteApp } from "../../types.ts";

const blobParamsSchema = Type.Object({ digest: Type.String({ maxLength: 80 }) });

export function registerOllamaBlobRoutes(app: RouteApp, deps: AppDeps): void {
  const uploads = deps.models.uploads;
  app.head("/api/blobs/:digest", { schema: { params: blobParamsSchema } }, async (request, reply) => {
    return reply.status(uploads.has(request.params.digest) ? 200 : 404).send();
  });

  // The body is the raw blob, any size and any Content-Type: it streams to disk instead of being parsed.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    scope.post("/api/blobs/:digest", { schema: { params: blobParamsSchema } }, async (request, reply) => {
      const { digest } = request.params as { digest: string };
      if (uploads.has(digest)) {
        (request.body as Readable | undefined)?.resume();
        return reply.status(200).send();
      }
      await uploads.receive(digest, (request.body as Readable | undefined) ?? request.raw);
      return reply.status(201).send();
    });
  });
}
