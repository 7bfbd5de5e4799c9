// GGUF reading, synthetic llama model writing, and size/memory estimation.
export {
  readGgufHeader,
  readModelHeader,
  modelProblem,
  ggufValueToJson,
  type GgufHeader,
  type GgufTensorInfo,
  type GgufValue,
  type GgufArraySummary,
  type ReadGgufHeaderOptions,
} from "./read-gguf.ts";
export {
  writeSyntheticModel,
  SYNTHETIC_DTYPES,
  SYNTHETIC_CHAT_TEMPLATE,
  type SyntheticDtype,
  type WriteSyntheticModelOptions,
  type SyntheticModelInfo,
} from "./write-synthetic-model.ts";
export {
  MODEL_SHAPES,
  MODEL_SHAPE_NAMES,
  MIN_VOCAB,
  isModelShapeName,
  resolveModelDims,
  countParameters,
  llamaTensorSpecs,
  type ModelDims,
  type ModelShapeName,
  type TensorSpec,
} from "./shapes.ts";
export {
  estimateModelBytes,
  estimateMemoryBytes,
  estimateMemoryBreakdown,
  plannedTensorType,
  plannedTensors,
  kvBytesPerLayer,
  computeBufferBytes,
  ESTIMABLE_FILE_TYPES,
  type EstimableFileType,
  type MemoryEstimate,
} from "./estimate-size.ts";
export {
  offloadProfile,
  offloadProfileOf,
  placeLayers,
  type OffloadProfile,
  type OffloadPlacement,
  type OffloadTensor,
  type OffloadHeader,
} from "./estimate-offload.ts";
export {
  GGML_TYPES,
  GGML_TYPE,
  LLAMA_FTYPE_NAMES,
  LLAMA_FTYPE_BY_NAME,
  fileTypeName,
  ggmlTypeBytes,
  type GgmlTypeInfo,
} from "./ggml-types.ts";
export { buildSyntheticVocab, TOKEN_TYPE, type SyntheticVocab } from "./synthetic-vocab.ts";
