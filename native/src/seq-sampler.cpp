// Per-sequence sampling; semantics follow llama.cpp's common sampler order (penalties, top_k, top_p, temp, dist).
#include "seq-sampler.h"

#include <algorithm>
#include <cmath>

namespace rfx {

SeqSampler::SeqSampler(const SamplingParams & p, int32_t n_vocab) : p_(p), n_vocab_(n_vocab) {
    counts_.assign(n_vocab, 0);
    if (p_.temperature > 0.0f) {
        auto cp = llama_sampler_chain_default_params();
        cp.no_perf = true;
        chain_ = llama_sampler_chain_init(cp);
        if (p_.top_k > 0) llama_sampler_chain_add(chain_, llama_sampler_init_top_k(p_.top_k));
        if (p_.top_p < 1.0f) llama_sampler_chain_add(chain_, llama_sampler_init_top_p(p_.top_p, 1));
        llama_sampler_chain_add(chain_, llama_sampler_init_temp(p_.temperature));
        llama_sampler_chain_add(chain_, llama_sampler_init_dist(p_.seed));
    }
}

SeqSampler::~SeqSampler() {
    if (chain_) llama_sampler_free(chain_);
}

void SeqSampler::accept(llama_token t) {
    if (p_.repeat_penalty == 1.0f || p_.repeat_last_n <= 0 || t < 0 || t >= n_vocab_) return;
    window_.push_back(t);
    if (counts_[t]++ == 0) distinct_.push_back(t);
    if ((int32_t) window_.size() > p_.repeat_last_n) {
        llama_token old = window_.front();
        window_.pop_front();
        if (--counts_[old] == 0) distinct_.erase(std::find(distinct_.begin(), distinct_.end(), old));
    }
}

llama_token SeqSampler::sample(const float * logits) {
    if (!chain_) {
        // Greedy: argmax over the logits with the penalised window tokens substituted.
        llama_token best = 0;
        float best_v = -INFINITY;
        for (int32_t i = 0; i < n_vocab_; ++i) {
            if (logits[i] > best_v) {
                best_v = logits[i];
                best = i;
            }
        }
        if (!distinct_.empty()) {
            // With a penalty > 1 a penalised token can only lose value, so the argmax only changes when it was one.
            if (counts_[best] > 0 || p_.repeat_penalty < 1.0f) {
                best_v = -INFINITY;
                for (int32_t i = 0; i < n_vocab_; ++i) {
                    float v = logits[i];
                    if (counts_[i] > 0) v = v <= 0 ? v * p_.repeat_penalty : v / p_.repeat_penalty;
                    if (v > best_v) {
                        best_v = v;
                        best = i;
                    }
                }
            }
        }
        return best;
    }
    cur_.resize(n_vocab_);
    for (int32_t i = 0; i < n_vocab_; ++i) cur_[i] = llama_token_data{i, logits[i], 0.0f};
    for (llama_token t : distinct_) {
        float & v = cur_[t].logit;
        v = v <= 0 ? v * p_.repeat_penalty : v / p_.repeat_penalty;
    }
    llama_token_data_array arr = {cur_.data(), cur_.size(), -1, false};
    llama_sampler_apply(chain_, &arr);
    if (arr.selected < 0 || (size_t) arr.selected >= arr.size) return arr.data[0].id;
    return arr.data[arr.selected].id;
}

}  // namespace rfx
