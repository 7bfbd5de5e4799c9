// The batch-split decision: split a pure decode step when n one-token calls are predicted cheaper than one batch.
#include "split-tuner.h"

namespace rfx {

void SplitTuner::reset(BatchSplit mode, uint32_t n_max) {
    mode_ = mode;
    ms_.assign(n_max + 1, 0.0);
    steps_.assign(n_max + 1, 0);
}

// Split when n one-token calls are predicted cheaper than one n-token call. The option not taken is re-measured
// every 64th decision at that size while the two are within 1.5x of each other (an exploring step then costs at
// most half a step in 64), and every 1024th otherwise, so a stale figure cannot lock in the wrong choice.
// "always" gives every llama_decode call one sequence (a generating token, or one prompt chunk), so each token comes
// from exactly the calls a single stream would make. "auto" leaves steps with prompt chunks batched (and unmeasured).
bool SplitTuner::split(int n, bool prompts_waiting) {
    if (mode_ == BatchSplit::NEVER || n < 1) return false;
    if (mode_ == BatchSplit::ALWAYS) return n > 1 || prompts_waiting;
    if (prompts_waiting || n < 2 || n >= (int) ms_.size()) return false;
    const double batched = ms_[n], single = ms_[1];
    if (batched == 0) return false;  // measure the batched call first: it is the usual winner
    if (single == 0) return true;
    const bool prefer_split = n * single < batched;
    const double ratio = prefer_split ? batched / (n * single) : (n * single) / batched;
    const uint32_t every = ratio < 1.5 ? 64 : 1024;
    const bool explore = ++steps_[n] % every == 0;
    return prefer_split != explore;
}

void SplitTuner::record(int n, double ms) {
    if (n < 1 || n >= (int) ms_.size()) return;
    ms_[n] = ms_[n] == 0 ? ms : 0.8 * ms_[n] + 0.2 * ms;
}

double SplitTuner::least_call_ms() const {
    for (double ms : ms_)
        if (ms > 0) return ms;
    return 0;
}

}  // namespace rfx
