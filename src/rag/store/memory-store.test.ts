import { registerStoreConformance } from "./store-conformance.ts";
import { createMemoryStore } from "./memory-store.ts";

registerStoreConformance("memory", { open: async ({ dim, distance }) => createMemoryStore({ dim, distance }) });
