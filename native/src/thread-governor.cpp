// The contention policy: leave the full pool when its step time stays far above its own baseline, probe it again
// periodically, and go back when it is fast again.
#include "thread-governor.h"

#include <algorithm>

namespace rfx {

void ThreadGovernor::reset(int n_threads, uint32_t n_max, bool enabled) {
    enabled_ = enabled && n_threads > 1;
    contended_ = false;
    full_.assign(n_max + 1, 0.0);
    low_.assign(n_max + 1, 0.0);
    base_.assign(n_max + 1, 0.0);
    slow_.assign(n_max + 1, 0);
    steps_.assign(n_max + 1, 0);
}

void ThreadGovernor::idle() {
    contended_ = false;
    std::fill(slow_.begin(), slow_.end(), 0);
}

// While contended, every 16th step at a size runs on the full pool again: one slow step in 16 is the price of
// noticing that the load has gone.
bool ThreadGovernor::reduce(int n) {
    if (!enabled_ || n < 1 || n >= (int) full_.size()) return contended_;
    if (!contended_) return false;
    return ++steps_[n] % 16 != 0;
}

// Contended: the full pool's step time has been above 2.5x its baseline (the best it did, drifting up 0.1 % per step so
// a permanently slower machine re-bases) for 4 steps in a row. Recovered: a full-pool step that is back within 1.5x
// of the baseline, or faster than the reduced mode's average.
void ThreadGovernor::record(int n, double ms, bool reduced) {
    if (!enabled_ || n < 1 || n >= (int) full_.size() || ms <= 0) return;
    if (reduced) {
        low_[n] = low_[n] == 0 ? ms : 0.7 * low_[n] + 0.3 * ms;
        return;
    }
    full_[n] = full_[n] == 0 ? ms : 0.7 * full_[n] + 0.3 * ms;
    if (contended_) {
        if (ms <= 1.5 * base_[n] || (low_[n] > 0 && ms < low_[n])) {
            contended_ = false;
            slow_[n] = 0;
            full_[n] = ms;
        }
        return;
    }
    base_[n] = base_[n] == 0 ? ms : std::min(ms, base_[n] * 1.001);
    slow_[n] = full_[n] > 2.5 * base_[n] ? slow_[n] + 1 : 0;
    if (slow_[n] >= 4) {
        contended_ = true;
        ++events_;
        steps_[n] = 0;
    }
}

}  // namespace rfx
