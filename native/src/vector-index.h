// An in-memory vector matrix scanned exactly with SIMD: rows of float32 (and an int8 copy for a fast first pass),
// an alive mask, and top-k search. JS owns the row numbering; every method runs on the JS thread (no locking).
#pragma once

#include <cstdint>
#include <vector>

#include "common.h"

namespace rfx {

class VectorIndex : public Napi::ObjectWrap<VectorIndex> {
  public:
    static Napi::Function Define(Napi::Env env);
    explicit VectorIndex(const Napi::CallbackInfo & info);

  private:
    enum class Metric { IP, Cosine, L2 };

    Napi::Value Set(const Napi::CallbackInfo & info);
    Napi::Value Remove(const Napi::CallbackInfo & info);
    Napi::Value Search(const Napi::CallbackInfo & info);
    Napi::Value Get(const Napi::CallbackInfo & info);
    Napi::Value Stats(const Napi::CallbackInfo & info);
    Napi::Value Clear(const Napi::CallbackInfo & info);
    Napi::Value Reserve(const Napi::CallbackInfo & info);

    void reserve(uint32_t rows, bool exact = false);
    void put(uint32_t row, const float * v);
    float exact_distance(const float * q, float q_norm2, uint32_t row) const;

    uint32_t dim_ = 0;
    // Rows padded to a multiple of 64 elements, so every SIMD kernel runs whole vectors without a tail.
    uint32_t stride_ = 0;
    Metric metric_ = Metric::IP;
    bool int8_ = false;
    uint32_t rows_ = 0;  // one past the highest row ever set
    uint32_t live_ = 0;
    std::vector<float> f32_;
    std::vector<int8_t> i8_;
    std::vector<float> scale_;  // int8 row = round(v / scale)
    std::vector<float> norm2_;  // squared L2 norm of each float row
    std::vector<uint8_t> alive_;
};

}  // namespace rfx
