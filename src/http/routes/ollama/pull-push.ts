// /api/pull (Ollama's registry protocol, through the model service) and /api/push (refused: Reflexia publishes
// nothing to registries).
import { Type } from "typebox";
import { ReflexiaError } from "../../../errors/index.ts";
import { modelRefSchema } from "../../schemas/common.ts";
import type { AppDeps, RouteApp } from "../../types.ts";
import { modelOrName } from "../ollama.ts";
import { respondWithProgress } from "./progress-stream.ts";

/** Ollama sends `model` (older clients `name`); `insecure` allows an `http://host/…` name, as Ollama's does. */
const pullBodySchema = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    insecure: Type.Optional(Type.Boolean()),
    stream: Type.Optional(Type.Boolean()),
  },
  { anyOf: [{ required: ["model"] }, { required: ["name"] }] },
);

/** Every push is refused, whatever else the client sends (ollama-js adds `stream`, `insecure`). */
const pushBodySchema = Type.Object(
  { model: Type.Optional(modelRefSchema), name: Type.Optional(modelRefSchema) },
  { additionalProperties: true },
);

export function registerOllamaPullRoutes(app: RouteApp, deps: AppDeps): void {
  app.post("/api/pull", { schema: { body: pullBodySchema } }, async (request, reply) => {
    const body = request.body;
    const name = modelOrName(body);
    return respondWithProgress(
      request,
      reply,
      body.stream !== false,
      async ({ emit, signal }) => {
        await deps.models.pull(name, { onProgress: (p) => emit({ ...p }), signal, insecure: body.insecure === true });
      },
      // The stream opens once the manifest is read: an unknown name or an unusable model still gets its status.
      (p) => p.status.startsWith("pulling ") && p.status !== "pulling manifest",
    );
  });

  app.post("/api/push", { schema: { body: pushBodySchema } }, async () => {
    throw new ReflexiaError(
      "RFX_PUSH_UNSUPPORTED",
      "pushing models to a registry is not supported by Reflexia; copy the GGUF blob (reflexia show --modelfile) or serve it from this server",
    );
  });
}
