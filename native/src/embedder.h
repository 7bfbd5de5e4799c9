// An embedding context: mean-pooled, L2-normalised sentence vectors from a loaded model.
// Threading: the methods run on the JS thread; each embed() runs on the libuv pool, one at a time per context
// (State::mu), and takes its turn on the shared threadpool under decode_lock().
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "common.h"
#include "solo-context.h"

namespace rfx {

class Embedder : public Napi::ObjectWrap<Embedder> {
  public:
    static Napi::Function Define(Napi::Env env);
    explicit Embedder(const Napi::CallbackInfo & info);
    ~Embedder() override;

  private:
    using State = SoloContext;

    Napi::Value Embed(const Napi::CallbackInfo & info);
    Napi::Value Close(const Napi::CallbackInfo & info);
    Napi::Value ContextSize(const Napi::CallbackInfo & info);

    // Shared with in-flight workers, so close() during embed() frees the context only after it finishes.
    std::shared_ptr<State> state_;
};

}  // namespace rfx
