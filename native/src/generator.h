// The JS-facing Generator: parses options and requests, hands them to a DecodeLoop, and delivers its events to JS.
//
// Threading: every method runs on the JS thread, except wake() (the loop's callback), which runs on the loop thread
// and touches only the atomic call_pending_ and the thread-safe function. shutdown_blocking() also runs at env
// teardown on the JS thread.
#pragma once

#include <atomic>
#include <memory>

#include "common.h"
#include "decode-loop.h"

namespace rfx {

class Generator : public Napi::ObjectWrap<Generator> {
  public:
    static Napi::Function Define(Napi::Env env);
    explicit Generator(const Napi::CallbackInfo & info);
    ~Generator() override;

    // Stops the loop and waits for its thread (env teardown: no JS callback will run any more).
    void shutdown_blocking();

  private:
    Napi::Value Submit(const Napi::CallbackInfo & info);
    Napi::Value Cancel(const Napi::CallbackInfo & info);
    Napi::Value HoldAdmission(const Napi::CallbackInfo & info);
    Napi::Value Close(const Napi::CallbackInfo & info);
    Napi::Value Stats(const Napi::CallbackInfo & info);
    Napi::Value ResetStats(const Napi::CallbackInfo & info);
    Napi::Value ActiveCount(const Napi::CallbackInfo & info);

    void wake();
    void drain(Napi::Env env, Napi::Function fn);
    void hold(Napi::Env env);
    void release(Napi::Env env);

    std::unique_ptr<DecodeLoop> loop_;
    std::atomic<bool> call_pending_{false};
    Napi::ThreadSafeFunction tsfn_;
    int holds_ = 0;          // reasons to keep the event loop alive
    bool closed_ = false;    // CLOSED delivered, tsfn gone
    bool close_requested_ = false;
};

}  // namespace rfx
