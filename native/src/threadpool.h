// Process-wide decode arbitration: one ggml CPU threadpool per (threads, poll) shared by every context of this addon,
// and a fair lock so only one llama_decode runs at a time. Two contexts decoding at once on the same cores would
// make their spin barriers fight (measured: tens of times slower); taking turns step by step costs nothing.
// Threading: any thread may call these; decode_lock() is taken by decode-loop threads and embed workers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "llama.h"

struct ggml_threadpool;

namespace rfx {

// FIFO lock: a loop thread that releases and re-acquires every few ms cannot starve the other contexts.
class FairLock {
  public:
    void lock() {
        std::unique_lock<std::mutex> lk(mu_);
        const uint64_t ticket = next_++;
        cv_.wait(lk, [&] { return serving_ == ticket; });
    }
    void unlock() {
        {
            std::lock_guard<std::mutex> lk(mu_);
            ++serving_;
        }
        cv_.notify_all();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    uint64_t next_ = 0, serving_ = 0;
};

// Held around every llama_decode of the addon.
FairLock & decode_lock();

// A ggml threadpool; the CPU backend is a dynamically loaded variant, so its entry points come from the registry.
class Threadpool {
  public:
    Threadpool(int n_threads, uint32_t poll);
    ~Threadpool();
    Threadpool(const Threadpool &) = delete;
    Threadpool & operator=(const Threadpool &) = delete;
    // Without an attached pool ggml starts and joins fresh threads for every graph.
    void attach(llama_context * ctx) const;

  private:
    ggml_threadpool * pool_ = nullptr;
    void (*free_)(ggml_threadpool *) = nullptr;
};

// The shared pool for these settings; it lives while any context holds it (free it only after llama_free).
std::shared_ptr<Threadpool> shared_threadpool(int n_threads, uint32_t poll);

}  // namespace rfx
