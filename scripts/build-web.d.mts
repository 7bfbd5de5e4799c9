// Types of scripts/build-web.mjs for the TypeScript test setup that imports it.
export function buildWebUi(options?: { outdir?: string; minify?: boolean }): Promise<string>;
