// Exact top-k search over an in-memory float32 matrix, with an optional int8 first pass re-ranked exactly.
//
// The kernels are chosen once per process from what the CPU supports (AVX-512BW, AVX2+FMA, else portable C++),
// so one build runs on any x86-64 host. A search is a single streaming pass over the rows: at 10,000 rows of 384
// floats that is 15 MB, about 1 ms of memory bandwidth; the int8 pass reads a quarter of it and the exact re-rank
// touches only the candidates, which is why int8 + re-rank returns the exact top-k unless more than `candidates`
// rows are closer by the int8 estimate than a true top-k row (see src/bench/rag-bench.ts for the measured recall).
#include "vector-index.h"

// GCC 12 warns inside its own AVX-512 headers (`__Y` used uninitialized in _mm512_undefined_*): not our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

namespace rfx {

namespace {

constexpr uint32_t kPad = 64;  // elements; every kernel consumes whole blocks of 64

// ---- portable kernels ----------------------------------------------------------------------------------------
float dot_f32_scalar(const float * a, const float * b, uint32_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (uint32_t i = 0; i < n; i += 8)
        for (int j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

int32_t dot_i8_scalar(const int16_t * q, const int8_t * r, uint32_t n) {
    int32_t s = 0;
    for (uint32_t i = 0; i < n; i++) s += (int32_t) q[i] * (int32_t) r[i];
    return s;
}

// ---- AVX2 + FMA ----------------------------------------------------------------------------------------------
__attribute__((target("avx2,fma"))) float dot_f32_avx2(const float * a, const float * b, uint32_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    for (uint32_t i = 0; i < n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
}

__attribute__((target("avx2"))) int32_t dot_i8_avx2(const int16_t * q, const int8_t * r, uint32_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
    for (uint32_t i = 0; i < n; i += 32) {
        __m256i r0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (r + i)));
        __m256i r1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (r + i + 16)));
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(r0, _mm256_loadu_si256((const __m256i *) (q + i))));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(r1, _mm256_loadu_si256((const __m256i *) (q + i + 16))));
    }
    __m256i s = _mm256_add_epi32(a0, a1);
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    return _mm_cvtsi128_si32(h);
}

// ---- AVX-512 -------------------------------------------------------------------------------------------------
__attribute__((target("avx512f"))) float dot_f32_avx512(const float * a, const float * b, uint32_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    for (uint32_t i = 0; i < n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

__attribute__((target("avx512f,avx512bw"))) int32_t dot_i8_avx512(const int16_t * q, const int8_t * r, uint32_t n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
    for (uint32_t i = 0; i < n; i += 64) {
        __m512i r0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *) (r + i)));
        __m512i r1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *) (r + i + 32)));
        a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(r0, _mm512_loadu_si512((const void *) (q + i))));
        a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(r1, _mm512_loadu_si512((const void *) (q + i + 32))));
    }
    return _mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1));
}

struct Kernels {
    float (*dot_f32)(const float *, const float *, uint32_t);
    int32_t (*dot_i8)(const int16_t *, const int8_t *, uint32_t);
    const char * isa;
};

const Kernels & kernels() {
    static const Kernels k = []() -> Kernels {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) return {dot_f32_avx512, dot_i8_avx512, "avx512"};
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {dot_f32_avx2, dot_i8_avx2, "avx2"};
        return {dot_f32_scalar, dot_i8_scalar, "scalar"};
    }();
    return k;
}

// Symmetric per-vector int8 quantization: v[i] ≈ q[i] * scale.
template <typename T> float quantize(const float * v, uint32_t n, T * out) {
    float m = 0;
    for (uint32_t i = 0; i < n; i++) m = std::max(m, std::fabs(v[i]));
    float scale = m > 0 ? m / 127.0f : 1.0f;
    float inv = 1.0f / scale;
    for (uint32_t i = 0; i < n; i++) out[i] = (T) std::lrint(std::clamp(v[i] * inv, -127.0f, 127.0f));
    return scale;
}

using Hit = std::pair<float, uint32_t>;  // (distance, row); the heap keeps the worst on top

inline void offer(std::vector<Hit> & heap, size_t cap, float d, uint32_t row) {
    if (heap.size() < cap) {
        heap.emplace_back(d, row);
        std::push_heap(heap.begin(), heap.end());
    } else if (Hit(d, row) < heap.front()) {
        std::pop_heap(heap.begin(), heap.end());
        heap.back() = Hit(d, row);
        std::push_heap(heap.begin(), heap.end());
    }
}

}  // namespace

Napi::Function VectorIndex::Define(Napi::Env env) {
    return DefineClass(env, "VectorIndex",
                       {
                           InstanceMethod("set", &VectorIndex::Set),
                           InstanceMethod("remove", &VectorIndex::Remove),
                           InstanceMethod("search", &VectorIndex::Search),
                           InstanceMethod("get", &VectorIndex::Get),
                           InstanceMethod("stats", &VectorIndex::Stats),
                           InstanceMethod("clear", &VectorIndex::Clear),
                           InstanceMethod("reserve", &VectorIndex::Reserve),
                       });
}

// new VectorIndex(dim, {metric: "ip" | "cosine" | "l2", int8: boolean})
VectorIndex::VectorIndex(const Napi::CallbackInfo & info) : Napi::ObjectWrap<VectorIndex>(info) {
    auto env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsObject()) throw Napi::TypeError::New(env, "VectorIndex(dim, options)");
    int64_t dim = info[0].As<Napi::Number>().Int64Value();
    if (dim < 1 || dim > 65536) throw Napi::RangeError::New(env, "dim must be in [1, 65536]");
    dim_ = (uint32_t) dim;
    stride_ = (dim_ + kPad - 1) / kPad * kPad;
    auto o = info[1].As<Napi::Object>();
    std::string metric = o.Has("metric") && o.Get("metric").IsString() ? o.Get("metric").As<Napi::String>().Utf8Value() : "ip";
    if (metric == "ip") metric_ = Metric::IP;
    else if (metric == "cosine") metric_ = Metric::Cosine;
    else if (metric == "l2") metric_ = Metric::L2;
    else throw Napi::RangeError::New(env, "metric must be ip, cosine or l2");
    int8_ = o.Has("int8") && o.Get("int8").ToBoolean().Value();
}

void VectorIndex::reserve(uint32_t rows, bool exact) {
    if (rows <= alive_.size()) return;
    // Growth doubles (amortised appends); an exact reserve (the row count is known, as at open) wastes nothing.
    size_t cap = exact ? (size_t) rows : std::max<size_t>({(size_t) rows, alive_.size() * 2, (size_t) 256});
    f32_.resize(cap * stride_, 0.0f);
    norm2_.resize(cap, 0.0f);
    alive_.resize(cap, 0);
    if (int8_) {
        i8_.resize(cap * stride_, 0);
        scale_.resize(cap, 0.0f);
    }
}

void VectorIndex::put(uint32_t row, const float * v) {
    reserve(row + 1);
    float * dst = f32_.data() + (size_t) row * stride_;
    std::memcpy(dst, v, dim_ * sizeof(float));
    std::fill(dst + dim_, dst + stride_, 0.0f);
    norm2_[row] = kernels().dot_f32(dst, dst, stride_);
    if (int8_) {
        int8_t * q = i8_.data() + (size_t) row * stride_;
        scale_[row] = quantize(v, dim_, q);
        std::fill(q + dim_, q + stride_, (int8_t) 0);
    }
    if (!alive_[row]) live_++;
    alive_[row] = 1;
    rows_ = std::max(rows_, row + 1);
}

// set(rows: Int32Array, vectors: Float32Array of rows.length * dim)
Napi::Value VectorIndex::Set(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray()) throw Napi::TypeError::New(env, "set(rows: Int32Array, vectors: Float32Array)");
    auto rows = info[0].As<Napi::TypedArray>();
    auto vecs = info[1].As<Napi::TypedArray>();
    if (rows.TypedArrayType() != napi_int32_array || vecs.TypedArrayType() != napi_float32_array) throw Napi::TypeError::New(env, "set(rows: Int32Array, vectors: Float32Array)");
    auto r = rows.As<Napi::Int32Array>();
    auto v = vecs.As<Napi::Float32Array>();
    if (v.ElementLength() != r.ElementLength() * dim_) throw Napi::RangeError::New(env, "vectors must hold rows.length * dim floats");
    for (size_t i = 0; i < r.ElementLength(); i++) {
        if (r[i] < 0) throw Napi::RangeError::New(env, "row numbers must be non-negative");
    }
    for (size_t i = 0; i < r.ElementLength(); i++) put((uint32_t) r[i], v.Data() + i * dim_);
    return env.Undefined();
}

// remove(row): the row is skipped by every later search until it is set again.
Napi::Value VectorIndex::Remove(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    int64_t row = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : -1;
    if (row < 0 || (uint64_t) row >= rows_ || !alive_[row]) return Napi::Boolean::New(env, false);
    alive_[row] = 0;
    live_--;
    return Napi::Boolean::New(env, true);
}

float VectorIndex::exact_distance(const float * q, float q_norm2, uint32_t row) const {
    float d = kernels().dot_f32(q, f32_.data() + (size_t) row * stride_, stride_);
    switch (metric_) {
        case Metric::IP: return 1.0f - d;
        case Metric::Cosine: return q_norm2 > 0 && norm2_[row] > 0 ? 1.0f - d / std::sqrt(q_norm2 * norm2_[row]) : 1.0f;
        case Metric::L2: return std::max(0.0f, q_norm2 + norm2_[row] - 2.0f * d);
    }
    return 0;
}

// search(query: Float32Array, k, candidates) -> {rows: Int32Array, distances: Float32Array}, best first.
// candidates > 0 (int8 indexes only): an int8 pass keeps that many rows, whose exact distances then decide the k;
// 0: every row's exact distance.
Napi::Value VectorIndex::Search(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber()) throw Napi::TypeError::New(env, "search(query, k, candidates)");
    auto qa = info[0].As<Napi::TypedArray>();
    if (qa.TypedArrayType() != napi_float32_array || qa.ElementLength() != dim_) throw Napi::RangeError::New(env, "query must be a Float32Array of dim floats");
    auto query = qa.As<Napi::Float32Array>();
    int64_t k = info[1].As<Napi::Number>().Int64Value();
    int64_t candidates = info[2].As<Napi::Number>().Int64Value();
    const auto & K = kernels();
    std::vector<float> q(stride_, 0.0f);
    std::memcpy(q.data(), query.Data(), dim_ * sizeof(float));
    float qn2 = K.dot_f32(q.data(), q.data(), stride_);
    std::vector<Hit> heap;
    if (k > 0 && live_ > 0) {
        size_t kk = (size_t) std::min<int64_t>(k, live_);
        heap.reserve(kk + 1);
        if (int8_ && candidates > 0) {
            std::vector<int16_t> qi(stride_, 0);
            float qs = quantize(query.Data(), dim_, qi.data());
            size_t cap = (size_t) std::min<int64_t>(std::max<int64_t>(candidates, k), live_);
            std::vector<Hit> pre;
            pre.reserve(cap + 1);
            for (uint32_t r = 0; r < rows_; r++) {
                if (!alive_[r]) continue;
                float dot = (float) K.dot_i8(qi.data(), i8_.data() + (size_t) r * stride_, stride_) * qs * scale_[r];
                float d;
                switch (metric_) {
                    case Metric::IP: d = 1.0f - dot; break;
                    case Metric::Cosine: d = qn2 > 0 && norm2_[r] > 0 ? 1.0f - dot / std::sqrt(qn2 * norm2_[r]) : 1.0f; break;
                    default: d = qn2 + norm2_[r] - 2.0f * dot; break;
                }
                offer(pre, cap, d, r);
            }
            for (const auto & h : pre) offer(heap, kk, exact_distance(q.data(), qn2, h.second), h.second);
        } else {
            for (uint32_t r = 0; r < rows_; r++) {
                if (alive_[r]) offer(heap, kk, exact_distance(q.data(), qn2, r), r);
            }
        }
        std::sort_heap(heap.begin(), heap.end());
    }
    auto rows = Napi::Int32Array::New(env, heap.size());
    auto dists = Napi::Float32Array::New(env, heap.size());
    for (size_t i = 0; i < heap.size(); i++) {
        dists[i] = heap[i].first;
        rows[i] = (int32_t) heap[i].second;
    }
    auto out = Napi::Object::New(env);
    out.Set("rows", rows);
    out.Set("distances", dists);
    return out;
}

// get(row) -> Float32Array copy of the stored float vector, or null when the row is not alive.
Napi::Value VectorIndex::Get(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    int64_t row = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : -1;
    if (row < 0 || (uint64_t) row >= rows_ || !alive_[row]) return env.Null();
    auto out = Napi::Float32Array::New(env, dim_);
    std::memcpy(out.Data(), f32_.data() + (size_t) row * stride_, dim_ * sizeof(float));
    return out;
}

// stats() -> {rows, live, bytes, isa}: bytes is what the matrix holds allocated (capacity, not just live rows).
Napi::Value VectorIndex::Stats(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    auto out = Napi::Object::New(env);
    size_t bytes = f32_.capacity() * sizeof(float) + i8_.capacity() + scale_.capacity() * sizeof(float) + norm2_.capacity() * sizeof(float) + alive_.capacity();
    out.Set("rows", (double) rows_);
    out.Set("live", (double) live_);
    out.Set("bytes", (double) bytes);
    out.Set("isa", kernels().isa);
    return out;
}

// reserve(rows): allocates room for exactly that many rows now (no later doubling up to it).
Napi::Value VectorIndex::Reserve(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    int64_t rows = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : -1;
    if (rows < 0 || rows > (int64_t) UINT32_MAX) throw Napi::RangeError::New(env, "reserve(rows) takes a row count");
    reserve((uint32_t) rows, true);
    return env.Undefined();
}

// clear(): drops every row and frees the memory.
Napi::Value VectorIndex::Clear(const Napi::CallbackInfo & info) {
    std::vector<float>().swap(f32_);
    std::vector<int8_t>().swap(i8_);
    std::vector<float>().swap(scale_);
    std::vector<float>().swap(norm2_);
    std::vector<uint8_t>().swap(alive_);
    rows_ = 0;
    live_ = 0;
    return info.Env().Undefined();
}

}  // namespace rfx
