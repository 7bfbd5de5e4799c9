// A one-sequence llama_context on the shared threadpool, for work that runs on the libuv pool one call at a time:
// the embedder (pooled vectors) and the evaluator (logits of every position).
// Threading: made on the JS thread (in a constructor); its users run one call at a time under `mu`.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common.h"
#include "model.h"
#include "threadpool.h"

namespace rfx {

struct SoloContext {
    ModelRef model;
    llama_context * ctx = nullptr;
    std::shared_ptr<Threadpool> pool;
    std::mutex mu;  // one call at a time per context
    int32_t n_ctx = 0;
    int32_t n_batch = 0;
    std::atomic<bool> exit_stop_registered{false};
    ~SoloContext() {
        if (ctx) llama_free(ctx);
        pool.reset();  // after llama_free
    }
};

// Reads a required number of a constructor's options object (JS always passes them: no default is restated on this
// side of the binding).
using RequiredNumber = std::function<uint32_t(const char *)>;

// `new X(model, {contextSize, threads, poll, …})`: the model and options checked, a one-sequence context made with
// `configure` (batch sizes, embeddings) applied to the defaults, and attached to the shared threadpool. `signature`
// names the call in a TypeError; `what` the context in llama.cpp's failure.
inline std::shared_ptr<SoloContext> open_solo_context(const Napi::CallbackInfo & info, const char * signature,
                                                      const char * what,
                                                      const std::function<void(llama_context_params &, const RequiredNumber &)> & configure) {
    auto env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject()) throw Napi::TypeError::New(env, signature);
    auto model = Model::Unwrap(info[0].As<Napi::Object>())->ref();
    if (!model) throw Napi::Error::New(env, "model is disposed");
    auto o = info[1].As<Napi::Object>();
    RequiredNumber u32 = [&](const char * k) {
        if (!o.Has(k) || !o.Get(k).IsNumber()) throw Napi::TypeError::New(env, std::string(k) + " is required (a number)");
        return o.Get(k).As<Napi::Number>().Uint32Value();
    };
    const int32_t threads = (int32_t) std::max<uint32_t>(1, u32("threads"));
    auto cp = llama_context_default_params();
    cp.n_ctx = u32("contextSize");
    cp.n_seq_max = 1;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    configure(cp, u32);
    clear_llama_error();
    auto st = std::make_shared<SoloContext>();
    st->model = model;
    st->ctx = llama_init_from_model(model->model, cp);
    if (!st->ctx) {
        std::string why = last_llama_error();
        throw Napi::Error::New(env, why.empty() ? std::string("llama.cpp could not create the ") + what + " context" : why);
    }
    st->pool = shared_threadpool(threads, u32("poll"));
    st->pool->attach(st->ctx);
    st->n_ctx = (int32_t) llama_n_ctx(st->ctx);
    st->n_batch = (int32_t) llama_n_batch(st->ctx);
    return st;
}

}  // namespace rfx
