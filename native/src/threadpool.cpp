// Shared threadpools and the decode lock (see threadpool.h for why contexts take turns).
#include "threadpool.h"

#include <map>
#include <utility>

#include "ggml-backend.h"
#include "ggml-cpu.h"

namespace rfx {

FairLock & decode_lock() {
    static FairLock lock;
    return lock;
}

Threadpool::Threadpool(int n_threads, uint32_t poll) {
    auto * dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!dev) return;
    auto * reg = ggml_backend_dev_backend_reg(dev);
    auto fnew = (decltype(ggml_threadpool_new) *) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new");
    free_ = (decltype(ggml_threadpool_free) *) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free");
    if (!fnew || !free_) return;
    auto tpp = ggml_threadpool_params_default(n_threads);
    tpp.poll = poll;
    pool_ = fnew(&tpp);
}

Threadpool::~Threadpool() {
    if (pool_ && free_) free_(pool_);
}

void Threadpool::attach(llama_context * ctx) const {
    if (pool_) llama_attach_threadpool(ctx, pool_, nullptr);
}

std::shared_ptr<Threadpool> shared_threadpool(int n_threads, uint32_t poll) {
    static std::mutex mu;
    static std::map<std::pair<int, uint32_t>, std::weak_ptr<Threadpool>> pools;
    std::lock_guard<std::mutex> lk(mu);
    auto & slot = pools[{n_threads, poll}];
    if (auto p = slot.lock()) return p;
    auto p = std::make_shared<Threadpool>(n_threads, poll);
    slot = p;
    return p;
}

}  // namespace rfx
