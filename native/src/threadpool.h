// A ggml CPU threadpool owned by one context; the CPU backend is a dynamically loaded variant, so its entry points
// come from the backend registry, never from a link-time symbol.
#pragma once

#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "llama.h"

namespace rfx {

class Threadpool {
  public:
    Threadpool() = default;
    Threadpool(const Threadpool &) = delete;
    Threadpool & operator=(const Threadpool &) = delete;
    ~Threadpool() { reset(); }

    // Without an attached pool ggml starts and joins fresh threads for every graph; `poll` (0-100) decides
    // whether idle workers spin for the next graph (fast hand-off) or sleep (leave the core to Node).
    void attach(llama_context * ctx, int n_threads, uint32_t poll) {
        auto * dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
        if (!dev) return;
        auto * reg = ggml_backend_dev_backend_reg(dev);
        auto fnew = (decltype(ggml_threadpool_new) *) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new");
        free_ = (decltype(ggml_threadpool_free) *) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free");
        if (!fnew || !free_) return;
        auto tpp = ggml_threadpool_params_default(n_threads);
        tpp.poll = poll;
        pool_ = fnew(&tpp);
        if (pool_) llama_attach_threadpool(ctx, pool_, nullptr);
    }

    // Call after llama_free of the context it was attached to.
    void reset() {
        if (pool_ && free_) free_(pool_);
        pool_ = nullptr;
    }

  private:
    ggml_threadpool * pool_ = nullptr;
    void (*free_)(ggml_threadpool *) = nullptr;
};

}  // namespace rfx
