// Pure policy functions: prompt complexity analysis and the choice of a quantization variant.
export {
  analyzeComplexity,
  estimateTokens,
  levelOf,
  COMPLEXITY_LEVELS,
  COMPLEXITY_FEATURES,
  DEFAULT_COMPLEXITY_OPTIONS,
  type ComplexityLevel,
  type ComplexityFeature,
  type ComplexityInput,
  type ComplexityMessage,
  type ComplexityOptions,
  type ComplexityResult,
  type FeatureScore,
} from "./analyze-complexity.ts";
export {
  chooseVariant,
  levelWithHysteresis,
  rankOf,
  REASONS,
  ACTIONS,
  REFUSE_CODES,
  DEFAULT_LEVEL_TARGETS,
  type Reason,
  type Action,
  type RefuseCode,
  type ChooseVariantInput,
  type ChooseVariantOptions,
  type VariantDecision,
} from "./choose-variant.ts";
export { TECHNICAL_LEXICON, LEXICON_DOMAINS, type LexiconDomain } from "./technical-lexicon.ts";
export { fitGpuLayers, vramSafetyMarginBytes, type GpuLayerFit } from "./fit-gpu-layers.ts";
