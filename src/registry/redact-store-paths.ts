// Rewrites paths inside the model store (blobs, staged, partial and uploaded files) in a message a person will read:
// they are the store's internals, say nothing useful to an API client and reveal the server's directory layout.

/** `…/models/blobs/sha256-<hex>`, `…/models/{tmp,partial,uploads}/…`, with any directory prefix. */
const STORE_PATH =
  /(?:[A-Za-z]:)?(?:[^\s'"`()<>,;]*[\\/])?models[\\/](blobs|tmp|partial|uploads)[\\/]([^\s'"`()<>,;:]+)/g;

/** The message with every model-store path replaced by a short name: `blob sha256:1a2b3c4d5e6f`. */
export function redactStorePaths(message: string): string {
  return message.replace(STORE_PATH, (_m, dir: string, rest: string) => {
    const digest = /sha256[-:]([0-9a-f]{12})/i.exec(rest)?.[1];
    if (dir === "blobs" && digest) return `blob sha256:${digest}`;
    if (dir === "uploads") return digest ? `uploaded blob sha256:${digest}` : "an uploaded blob";
    return dir === "partial" ? "a partial download" : "a staged file";
  });
}
