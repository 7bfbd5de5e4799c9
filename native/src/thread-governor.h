// Decides, per decode call, whether llama_decode runs on the full threadpool or on one thread without spin-polling:
// under CPU contention (another process busy on the same cores) spinning workers of a multi-thread pool wait for each
// other's descheduled peers, and a token that takes 5 ms alone was seen taking 200 ms, while one thread stays fast.
// Threading: owned by one decode loop and called only on that loop's thread; not synchronised.
#pragma once

#include <cstdint>
#include <vector>

namespace rfx {

class ThreadGovernor {
  public:
    // `n_threads` of the full pool; with 1 (or disabled) the governor never reduces.
    void reset(int n_threads, uint32_t n_max, bool enabled);
    // Whether the next pure decode step of `n` tokens runs reduced (decided once per step; may be an exploring step).
    bool reduce(int n);
    // Whether steps that are not pure decode (prompt chunks) run reduced: the current mode.
    bool reduced() const { return contended_; }
    // Records a pure decode step of `n` tokens that took `ms`, run reduced or not.
    void record(int n, double ms, bool reduced);
    uint64_t contention_events() const { return events_; }
    // The loop went idle: contention seen before says nothing about the next request's prompt, so it starts on the
    // full pool again (and is reduced again within 4 steps if the load is still there).
    void idle();

  private:
    bool enabled_ = false;
    bool contended_ = false;
    uint64_t events_ = 0;
    std::vector<double> full_, low_, base_;  // EWMA ms by tokens in the step, and the full pool's low-water mark
    std::vector<uint32_t> slow_, steps_;
};

}  // namespace rfx
