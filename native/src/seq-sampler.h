// Per-sequence sampling: repeat penalty over a recent-token window, then top-k, top-p, temperature and a seeded draw.
// Threading: a SeqSampler belongs to one sequence of one decode loop and is used only on that loop's thread.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "llama.h"

namespace rfx {

// Every field comes from the request: the defaults live once, in src/engine/resolve-sampling.ts.
struct SamplingParams {
    float temperature = 0;
    float top_p = 1;
    int32_t top_k = 0;
    uint32_t seed = 0;
    float repeat_penalty = 1;
    int32_t repeat_last_n = 0;
};

class SeqSampler {
  public:
    SeqSampler(const SamplingParams & p, int32_t n_vocab);
    ~SeqSampler();
    SeqSampler(const SeqSampler &) = delete;
    SeqSampler & operator=(const SeqSampler &) = delete;

    // Records a token (prompt or generated) in the repeat-penalty window.
    void accept(llama_token t);
    // Picks the next token from one row of logits.
    llama_token sample(const float * logits);

  private:
    SamplingParams p_;
    int32_t n_vocab_;
    // The penalty is applied here rather than by llama.cpp's penalties sampler: that one does a hash lookup for
    // every vocabulary entry per token (~32k lookups), this touches only the window's tokens.
    std::deque<llama_token> window_;
    std::vector<int32_t> counts_;
    std::vector<llama_token> distinct_;
    std::vector<llama_token_data> cur_;
    std::vector<float> scratch_;
    llama_sampler * chain_ = nullptr;
};

}  // namespace rfx
