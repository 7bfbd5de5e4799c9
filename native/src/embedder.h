// An embedding context: mean-pooled, L2-normalised sentence vectors from a loaded model.
// Threading: the methods run on the JS thread; each embed() runs on the libuv pool, one at a time per context
// (State::mu), and takes its turn on the shared threadpool under decode_lock().
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "common.h"
#include "threadpool.h"

namespace rfx {

class Embedder : public Napi::ObjectWrap<Embedder> {
  public:
    static Napi::Function Define(Napi::Env env);
    explicit Embedder(const Napi::CallbackInfo & info);
    ~Embedder() override;

  private:
    struct State {
        ModelRef model;
        llama_context * ctx = nullptr;
        std::shared_ptr<Threadpool> pool;
        std::mutex mu;  // one embed() at a time per context
        int32_t n_ctx = 0;
        std::atomic<bool> exit_stop_registered{false};
        ~State() {
            if (ctx) llama_free(ctx);
            pool.reset();  // after llama_free
        }
    };

    Napi::Value Embed(const Napi::CallbackInfo & info);
    Napi::Value Close(const Napi::CallbackInfo & info);
    Napi::Value ContextSize(const Napi::CallbackInfo & info);

    // Shared with in-flight workers, so close() during embed() frees the context only after it finishes.
    std::shared_ptr<State> state_;
};

}  // namespace rfx
