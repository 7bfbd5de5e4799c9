// An evaluation context: the next-token logits at every position of a token sequence (quality measurements:
// perplexity, KL divergence between variants), the way llama-perplexity reads them.
// Threading: the methods run on the JS thread; each evaluate() runs on the libuv pool, one at a time per context
// (State::mu), and takes its turn on the shared threadpool under decode_lock().
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "common.h"
#include "solo-context.h"

namespace rfx {

class Evaluator : public Napi::ObjectWrap<Evaluator> {
  public:
    static Napi::Function Define(Napi::Env env);
    explicit Evaluator(const Napi::CallbackInfo & info);
    ~Evaluator() override;

  private:
    using State = SoloContext;

    Napi::Value Evaluate(const Napi::CallbackInfo & info);
    Napi::Value Close(const Napi::CallbackInfo & info);
    Napi::Value ContextSize(const Napi::CallbackInfo & info);

    // Shared with in-flight workers, so close() during evaluate() frees the context only after it finishes.
    std::shared_ptr<State> state_;
};

}  // namespace rfx
