// Shared helpers of the Reflexia native addon: clock, promise-returning worker, last llama.cpp error line.
// Threading: now_ms() and the llama.cpp error line are safe from any thread; PromiseWorker::Run must be called on the
// JS thread (its work runs on the libuv pool, its result is settled back on the JS thread).
#pragma once

#include <napi.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "llama.h"

namespace rfx {

// Milliseconds on a monotonic clock; every timing the addon reports uses this one clock.
inline double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// Work on the libuv pool (model loads, embeddings) that Node does not join at exit: the exit hooks wait for it, so
// llama.cpp's statics are never torn down under it.
struct NativeWorkGuard {
    NativeWorkGuard();
    ~NativeWorkGuard();
};
void wait_for_native_work(int max_ms);
// Registers (again) the at-exit stop of all native work; call after ggml may have created new statics.
void register_exit_stop();

// The last warning/error line llama.cpp logged, so a failed load can say why instead of "failed".
std::string last_llama_error();
void clear_llama_error();

// Every line llama.cpp logs on the calling thread while set (a model load reads its offload summary from it);
// per thread, so concurrent loads on the libuv pool never see each other's lines. nullptr ends the capture.
struct LogCapture {
    std::vector<std::string> lines;
};
void set_log_capture(LogCapture * capture);

// Runs `work` on the libuv pool and settles a promise with `done(env)` or the thrown message.
class PromiseWorker : public Napi::AsyncWorker {
  public:
    using Work = std::function<void()>;
    using Done = std::function<Napi::Value(Napi::Env)>;

    static Napi::Promise Run(Napi::Env env, const char * name, Work work, Done done) {
        auto * w = new PromiseWorker(env, name, std::move(work), std::move(done));
        auto promise = w->deferred_.Promise();
        w->Queue();
        return promise;
    }

  protected:
    void Execute() override {
        try {
            work_();
        } catch (const std::exception & e) {
            SetError(e.what());
        } catch (...) {
            SetError("unknown native error");
        }
    }
    void OnOK() override {
        try {
            deferred_.Resolve(done_(Env()));
        } catch (const Napi::Error & e) {
            deferred_.Reject(e.Value());
        }
    }
    void OnError(const Napi::Error & e) override { deferred_.Reject(e.Value()); }

  private:
    PromiseWorker(Napi::Env env, const char * name, Work work, Done done)
        : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
          done_(std::move(done)) {}

    Napi::Promise::Deferred deferred_;
    Work work_;
    Done done_;
};

// Owns a llama_model; contexts hold a shared_ptr so the weights outlive every context that reads them.
struct ModelHolder {
    llama_model * model = nullptr;
    const llama_vocab * vocab = nullptr;
    // Layers llama.cpp put on GPU devices (output layer counted, as llama.cpp's n_gpu_layers does) and the size of
    // each weight buffer it allocated, by buffer name ("CPU_Mapped", "CPU_REPACK", "Vulkan0", "CUDA0", ...).
    int32_t gpu_layers = 0;
    std::vector<std::pair<std::string, double>> weight_buffers;
    ~ModelHolder() {
        if (model) llama_model_free(model);
    }
};
using ModelRef = std::shared_ptr<ModelHolder>;

}  // namespace rfx
