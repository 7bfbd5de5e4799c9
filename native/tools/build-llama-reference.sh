#!/usr/bin/env bash
# Builds llama.cpp's own llama-bench, llama-perplexity and llama-server from the source node-llama-cpp bundles, linked to the same
# prebuilt libraries Reflexia's native engine uses, so the engine benchmark has a same-kernels reference.
# Usage: native/tools/build-llama-reference.sh [--gpu cuda|vulkan] OUT_DIR   (never inside the repo; ~10 CPU-minutes)
#   --gpu SET  links the CUDA or Vulkan prebuilt set instead of the CPU one and puts its backend module
#              (libggml-cuda.so / libggml-vulkan.so) next to the binaries, where ggml_backend_load_all() finds it:
#              the reference for GPU=cuda / GPU=vulkan runs (pass -ngl to llama-bench; benchmark engine does).
set -euo pipefail
SET=cpu
if [ "${1:-}" = "--gpu" ]; then
  SET=${2:?--gpu needs cuda or vulkan}
  case "$SET" in cuda|vulkan) ;; *) echo "--gpu: unknown set $SET (cuda or vulkan)" >&2; exit 2 ;; esac
  shift 2
fi
OUT=${1:?usage: $0 [--gpu cuda|vulkan] OUT_DIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BINS=$(node "$ROOT/native/llama-libs.cjs" dir "$SET")
mkdir -p "$OUT/obj" "$OUT/gen"
SRC="$OUT/llama-src"
[ -d "$SRC" ] || git clone -q "$ROOT/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$SRC"
LIBS="$(node "$ROOT/native/llama-libs.cjs" libs "$SET") -l:libllama-common.so -Wl,-rpath,$BINS -pthread"
INC="-I$OUT/gen -I$SRC/common -I$SRC/include -I$SRC/ggml/include -I$SRC/vendor -I$SRC/tools/mtmd -I$SRC/tools/server -I$SRC -I$SRC/vendor/hash"

# llama-bench: one translation unit plus main.
g++ -O2 -DNDEBUG -std=c++17 $INC "$SRC"/tools/llama-bench/*.cpp -o "$OUT/llama-bench" $LIBS

# llama-perplexity (the quality benchmark's cross-check: `--kl-divergence`): one translation unit.
g++ -O2 -DNDEBUG -std=c++17 $INC "$SRC"/tools/perplexity/*.cpp -o "$OUT/llama-perplexity" $LIBS

# llama-server: server + mtmd sources; cpp-httplib comes from the prebuilt libllama-common; the web UI is stubbed.
cat > "$OUT/gen/ui.h" <<'H'
#pragma once
#include <array>
#include <string>
struct llama_ui_asset { std::string name; const unsigned char * data; std::size_t size; std::string etag; std::string type; };
const llama_ui_asset * llama_ui_find_asset(const std::string & name);
bool llama_ui_use_gzip();
const std::array<llama_ui_asset, 0> & llama_ui_get_assets();
H
cat > "$OUT/gen/ui.cpp" <<'C'
#include "ui.h"
const llama_ui_asset * llama_ui_find_asset(const std::string &) { return nullptr; }
const std::array<llama_ui_asset, 0> & llama_ui_get_assets() { static const std::array<llama_ui_asset, 0> e{}; return e; }
bool llama_ui_use_gzip() { return false; }
C
{
  echo "$OUT/gen/ui.cpp"
  ls "$SRC"/tools/server/*.cpp
  for f in mtmd mtmd-audio mtmd-image mtmd-helper mtmd-helper-gen clip; do echo "$SRC/tools/mtmd/$f.cpp"; done
  ls "$SRC"/tools/mtmd/models/*.cpp
  echo "$SRC/vendor/hash/hash.cpp"
  for f in xxhash/xxhash sha1/sha1 sha256/sha256; do echo "$SRC/vendor/hash/$f.c"; done
} > "$OUT/srcs.txt"
while read -r f; do
  o="$OUT/obj/$(echo "$f" | tr '/' '_').o"
  [ -f "$o" ] && continue
  case "$f" in
    */tools/server/*) echo "g++ -O2 -DNDEBUG -std=c++17 -fPIC $INC -c $f -o $o" ;;
    # sha1 is built as C++ (it lives in a namespace, as vendor/hash/CMakeLists.txt says); the other vendored C stays C.
    */sha1/sha1.c) echo "g++ -x c++ -O1 -DNDEBUG -fPIC $INC -I$SRC/vendor/hash -c $f -o $o" ;;
    *.c) echo "gcc -O1 -DNDEBUG -fPIC $INC -I$SRC/vendor/hash -c $f -o $o" ;;
    *) echo "g++ -O1 -DNDEBUG -std=c++17 -fPIC $INC -c $f -o $o" ;;
  esac
done < "$OUT/srcs.txt" > "$OUT/cmds.txt"
tr '\n' '\0' < "$OUT/cmds.txt" | xargs -0 -r -P "$(nproc)" -I{} sh -c "{}"
g++ "$OUT"/obj/*.o -o "$OUT/llama-server" $LIBS

# ggml looks for its CPU variants (and a GPU set's backend module) next to the executable.
ln -sf "$BINS"/libggml-cpu-*.so "$OUT/"
rm -f "$OUT/libggml-cuda.so" "$OUT/libggml-vulkan.so"
[ "$SET" = cpu ] || ln -sf "$BINS/libggml-$SET.so" "$OUT/"
echo "$SET" > "$OUT/library-set"
echo "built $OUT/llama-bench, $OUT/llama-perplexity and $OUT/llama-server against the $SET set"
