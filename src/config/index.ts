// Typed, validated, frozen configuration.
export { CONFIG_KEYS, MEMORY_INDEX_QUANTIZATIONS, QUANTIZATIONS, type MemoryIndexQuantization, type Quantization, type KeyDef } from "./keys.ts";
export { loadConfig, describeConfig, type Config, type LoadedConfig, type ConfigSource, type LoadConfigOptions } from "./load-config.ts";
