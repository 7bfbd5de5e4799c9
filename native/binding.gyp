{
  "targets": [
    {
      "target_name": "reflexia_native",
      "sources": [
        "src/addon.cpp",
        "src/model.cpp",
        "src/generator.cpp",
        "src/decode-loop.cpp",
        "src/split-tuner.cpp",
        "src/thread-governor.cpp",
        "src/seq-sampler.cpp",
        "src/embedder.cpp",
        "src/evaluator.cpp",
        "src/threadpool.cpp",
        "src/vector-index.cpp",
        "src/devices.cpp",
        "src/grammar.cpp",
        "vendor/llama-common/json-schema-to-grammar.cpp",
        "vendor/llama-common/json.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "include",
        "vendor/llama-common"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NDEBUG"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-frtti", "-Wall", "-Wno-unused-parameter"],
      "libraries": ["<!@(node llama-libs.cjs libs)"],
      "ldflags": ["<!(node llama-libs.cjs rpath)"]
    }
  ]
}
