// Typed, validated, frozen configuration.
export { CONFIG_KEYS, QUANTIZATIONS, GPU_MODES, GPU_LAYER_MODES, type Quantization, type GpuMode, type GpuLayersSetting, type KeyDef } from "./keys.ts";
export { loadConfig, describeConfig, type Config, type LoadedConfig, type ConfigSource, type LoadConfigOptions } from "./load-config.ts";
