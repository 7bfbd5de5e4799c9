// Typed, validated, frozen configuration: the key table (with the allowed-value lists) and its one loader.
export {
  CONFIG_KEYS,
  CONFIG_SCHEMA,
  CONTEXT_OVERFLOW_POLICIES,
  DISTANCE_METRICS,
  ENGINE_BACKENDS,
  GPU_LAYER_MODES,
  GPU_MODES,
  LOG_LEVELS,
  MEMORY_INDEX_QUANTIZATIONS,
  PROMPT_SPLIT_MODES,
  QUANTIZATIONS,
  type Config,
  type ContextOverflowPolicy,
  type DistanceMetric,
  type EngineBackend,
  type GpuLayersSetting,
  type GpuMode,
  type KeyDef,
  type LogLevel,
  type MemoryIndexQuantization,
  type PromptSplitMode,
  type Quantization,
} from "./keys.ts";
export { normalizeQuantization, parseQuantization } from "./normalize-quantization.ts";
export { packageVersion } from "./package-version.ts";
export {
  CONFIG_DEFAULTS,
  describeConfig,
  flattenConfigKeys,
  isDebugEnabled,
  loadConfig,
  type ConfigSource,
  type LoadConfigOptions,
  type LoadedConfig,
} from "./load-config.ts";
export { readSecret, secretVariableIsSet, type SecretSource } from "./read-secret.ts";
export { assertJsonDepth, jsonDepth, MAX_JSON_DEPTH, MAX_STRUCTURE_DEPTH, nestingError } from "./nesting-limits.ts";
