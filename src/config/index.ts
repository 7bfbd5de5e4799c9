// Typed, validated, frozen configuration.
export { CONFIG_KEYS, PULL_WATCHDOG_DEFAULTS, QUANTIZATIONS, type Quantization, type KeyDef } from "./keys.ts";
export { loadConfig, describeConfig, type Config, type LoadedConfig, type ConfigSource, type LoadConfigOptions } from "./load-config.ts";
