#!/usr/bin/env node
// Launches the TypeScript CLI through tsx so the published bin needs no separate build step.
import { register } from "tsx/esm/api";
register();
await import("../src/cli/index.ts");
