// Per-sequence sampling; semantics follow llama.cpp's common sampler order (penalties, top_k, top_p, temp, dist).
#include "seq-sampler.h"

#include <algorithm>
#include <cmath>

namespace rfx {

static constexpr int32_t kBlock = 64;

// Maximum of n floats; eight independent lanes let the compiler use SIMD max without -ffast-math.
static float block_max(const float * x, int32_t n) {
    float m[8];
    for (int j = 0; j < 8; ++j) m[j] = -INFINITY;
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    float r = -INFINITY;
    for (int j = 0; j < 8; ++j) r = m[j] > r ? m[j] : r;
    for (; i < n; ++i) r = x[i] > r ? x[i] : r;
    return r;
}

SeqSampler::SeqSampler(const SamplingParams & p, int32_t n_vocab) : p_(p), n_vocab_(n_vocab) {
    counts_.assign(n_vocab, 0);
    if (p_.temperature > 0.0f) {
        auto cp = llama_sampler_chain_default_params();
        cp.no_perf = true;
        chain_ = llama_sampler_chain_init(cp);
        // top-k is done in sample() while reading the logits, so the chain sees k candidates instead of the vocabulary.
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
    // The penalty goes onto a copy of the logits at the window's few tokens, so the scans below are plain loops.
    const float * row = logits;
    if (!distinct_.empty()) {
        scratch_.assign(logits, logits + n_vocab_);
        for (llama_token t : distinct_) {
            float & v = scratch_[t];
            v = v <= 0 ? v * p_.repeat_penalty : v / p_.repeat_penalty;
        }
        row = scratch_.data();
    }
    if (!chain_) {
        // Greedy: the maximum (vectorised), then its first position.
        const float m = block_max(row, n_vocab_);
        for (int32_t i = 0; i < n_vocab_; ++i)
            if (row[i] == m) return i;
        return 0;
    }
    const int32_t k = (p_.top_k > 0 && p_.top_k < n_vocab_) ? p_.top_k : n_vocab_;
    if (k == n_vocab_) {
        cur_.resize(n_vocab_);
        for (int32_t i = 0; i < n_vocab_; ++i) cur_[i] = llama_token_data{i, row[i], 0.0f};
    } else {
        // One pass keeping a min-heap of the k best: past the first few hundred entries almost every logit fails the
        // single comparison with the heap's minimum, so this costs about one compare per vocabulary entry.
        auto worse = [](const llama_token_data & a, const llama_token_data & b) { return a.logit > b.logit; };
        cur_.clear();
        for (int32_t i = 0; i < k; ++i) cur_.push_back({i, row[i], 0.0f});
        std::make_heap(cur_.begin(), cur_.end(), worse);
        float floor = cur_.front().logit;
        auto offer = [&](int32_t i) {
            if (row[i] <= floor) return;
            std::pop_heap(cur_.begin(), cur_.end(), worse);
            cur_.back() = {i, row[i], 0.0f};
            std::push_heap(cur_.begin(), cur_.end(), worse);
            floor = cur_.front().logit;
        };
        int32_t i = k;
        // Whole blocks whose (vectorised) maximum cannot enter the heap are skipped.
        for (; i + kBlock <= n_vocab_; i += kBlock) {
            if (block_max(row + i, kBlock) <= floor) continue;
            for (int32_t j = i; j < i + kBlock; ++j) offer(j);
        }
        for (; i < n_vocab_; ++i) offer(i);
    }
    const bool sorted = k < n_vocab_;
    if (sorted) {
        // Descending by logit, ties by token id, so the draw does not depend on the heap's order.
        std::sort(cur_.begin(), cur_.end(), [](const llama_token_data & a, const llama_token_data & b) {
            return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
        });
    }
    llama_token_data_array arr = {cur_.data(), cur_.size(), -1, sorted};
    llama_sampler_apply(chain_, &arr);
    if (arr.selected < 0 || (size_t) arr.selected >= arr.size) return arr.data[0].id;
    return arr.data[arr.selected].id;
}

}  // namespace rfx
