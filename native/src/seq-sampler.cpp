// Per-sequence sampling; semantics follow llama.cpp's common sampler order (penalties, grammar, top_k, top_p, temp,
// dist), with its "sample first, check the grammar, resample only if rejected" shortcut.
#include "seq-sampler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

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

SeqSampler::SeqSampler(const SamplingParams & p, const llama_vocab * vocab, int32_t max_tokens)
    : p_(p), vocab_(vocab), n_vocab_(llama_vocab_n_tokens(vocab)) {
    counts_.assign(n_vocab_, 0);
    auto & bias = p_.logit_bias;
    bias.erase(std::remove_if(bias.begin(), bias.end(), [this](const auto & e) { return e.first < 0 || e.first >= n_vocab_; }),
               bias.end());
    if (!p_.grammar.empty()) {
        if (p_.grammar_lazy) {
            std::vector<const char *> pats;
            for (auto & t : p_.grammar_triggers) pats.push_back(t.c_str());
            grammar_ = llama_sampler_init_grammar_lazy_patterns(vocab, p_.grammar.c_str(), p_.grammar_root.c_str(),
                                                                pats.data(), pats.size(), nullptr, 0);
        } else {
            grammar_ = llama_sampler_init_grammar(vocab, p_.grammar.c_str(), p_.grammar_root.c_str());
        }
        if (!grammar_) throw std::runtime_error("grammar_invalid");
        if (p_.grammar_lazy && !p_.grammar_trigger_words.empty()) {
            watching_ = true;
            for (auto & w : p_.grammar_trigger_words) longest_word_ = std::max(longest_word_, w.size());
        }
        // Only JSON is closed (other grammars have their own ends), and never a lazy grammar: it may never trigger,
        // and the sampler cannot tell when it has, so free text would be closed.
        close_from_ = p_.grammar_lazy || !p_.grammar_close_json ? -1
                                                                 : std::max(max_tokens / 4, std::min(48, max_tokens / 2));
    }
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
    if (grammar_) llama_sampler_free(grammar_);
}

void SeqSampler::accept_generated(llama_token t) {
    accept(t);
    if (!grammar_) return;
    char piece[256];
    const int32_t n = llama_token_to_piece(vocab_, t, piece, sizeof(piece), 0, false);
    if (watching_) return watch(t, piece, std::max(0, n));
    grammar_accept(t);
    if (grammar_) json_.push(piece, n);
}

void SeqSampler::grammar_accept(llama_token t) {
    try {
        llama_sampler_accept(grammar_, t);
    } catch (const std::exception &) {
        // Only a lazy grammar can get here: the token that triggered it carried text the grammar rejects. The rest
        // of the output goes unconstrained (the tool-call parser then finds no valid call) rather than failing.
        llama_sampler_free(grammar_);
        grammar_ = nullptr;
    }
}

void SeqSampler::watch(llama_token t, const char * piece, int32_t n) {
    const size_t before = watch_text_.size();
    watch_tokens_.push_back({t, before});
    watch_text_.append(piece, (size_t) n);
    // Only where the new bytes could complete a word.
    const size_t from = before >= longest_word_ ? before - longest_word_ + 1 : 0;
    size_t at = std::string::npos;
    for (auto & w : p_.grammar_trigger_words) at = std::min(at, watch_text_.find(w, from));
    if (at != std::string::npos) {
        // The grammar gets the tokens from the one the word starts in: its trigger pattern matches on that short
        // text at once and constrains everything after the word's start, as it would have on the whole output.
        watching_ = false;
        size_t k = watch_tokens_.size() - 1;
        while (k > 0 && watch_tokens_[k].second > at) --k;
        for (size_t i = k; i < watch_tokens_.size() && grammar_; ++i) grammar_accept(watch_tokens_[i].first);
        watch_tokens_.clear();
        watch_text_.clear();
        return;
    }
    // Keep the last longest_word_ - 1 bytes (a word may have started there) and the tokens they belong to.
    const size_t keep = longest_word_ > 0 ? longest_word_ - 1 : 0;
    if (watch_text_.size() > keep) {
        const size_t cut = watch_text_.size() - keep;
        size_t first = 0;
        while (first + 1 < watch_tokens_.size() && watch_tokens_[first + 1].second <= cut) ++first;
        const size_t base = watch_tokens_[first].second;
        watch_tokens_.erase(watch_tokens_.begin(), watch_tokens_.begin() + (std::ptrdiff_t) first);
        for (auto & e : watch_tokens_) e.second -= base;
        watch_text_.erase(0, base);
    }
}

void SeqSampler::accept(llama_token t) {
    if (!penalized() || t < 0 || t >= n_vocab_) return;
    window_.push_back(t);
    if (counts_[t]++ == 0) distinct_.push_back(t);
    if ((int32_t) window_.size() > p_.repeat_last_n) {
        llama_token old = window_.front();
        window_.pop_front();
        if (--counts_[old] == 0) distinct_.erase(std::find(distinct_.begin(), distinct_.end(), old));
    }
}

llama_token SeqSampler::sample(const float * logits, int32_t left) {
    // Bias and penalties go onto a copy of the logits at the few tokens they name, so the scans below are plain
    // loops. llama.cpp's order: logit bias, then repeat penalty, then frequency and presence.
    const float * row = logits;
    if (!distinct_.empty() || !p_.logit_bias.empty()) {
        scratch_.assign(logits, logits + n_vocab_);
        for (const auto & [t, b] : p_.logit_bias) scratch_[t] += b;
        for (llama_token t : distinct_) {
            float & v = scratch_[t];
            v = v <= 0 ? v * p_.repeat_penalty : v / p_.repeat_penalty;
            v -= (float) counts_[t] * p_.penalty_freq + p_.penalty_present;
        }
        row = scratch_.data();
    }
    llama_token t;
    if (!grammar_) {
        t = pick(row);
    } else if (left <= close_from_) {
        t = pick_closer(row);
        if (t < 0) t = pick_constrained(row, true);
    } else {
        // Most tokens a grammar-following model picks are allowed: checking the one pick is far cheaper than
        // masking the whole vocabulary first.
        t = pick(row);
        if (!grammar_allows(t, row)) t = pick_constrained(row, false);
    }
    if (p_.n_logprobs >= 0 && t >= 0) compute_logprobs(row, t);
    return t;
}

bool SeqSampler::grammar_allows(llama_token t, const float * row) {
    llama_token_data d = {t, row[t], 0.0f};
    llama_token_data_array arr = {&d, 1, -1, false};
    llama_sampler_apply(grammar_, &arr);
    return d.logit != -INFINITY;
}

void JsonDepth::push(const char * piece, int32_t n) {
    for (int32_t i = 0; i < n; ++i) {
        const char c = piece[i];
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            stack.push_back(c);
        } else if ((c == '}' || c == ']') && !stack.empty()) {
            stack.pop_back();
        }
    }
}

// Closing preference of appending `t`: a token that closes a string, array or object first, then structural
// punctuation over other text over bare whitespace (digits and padding end nothing), then the fewest left open, then
// the longer piece (fewer steps).
int64_t SeqSampler::closing_rank(llama_token t) {
    char piece[256];
    int32_t n = llama_token_to_piece(vocab_, t, piece, sizeof(piece), 0, false);
    if (n < 0) n = 0;
    JsonDepth d = json_;
    d.push(piece, n);
    int32_t kind = 0;  // 0 whitespace only, 1 other text, 2 has punctuation
    for (int32_t i = 0; i < n; ++i) {
        const char c = piece[i];
        if (c == ',' || c == ':' || c == '"' || c == '}' || c == ']') {
            kind = 2;
            break;
        }
        if (c != ' ' && c != '\n' && c != '\t' && c != '\r') kind = 1;
    }
    // Closing something beats everything; opening a string for a required key (punctuation) beats padding.
    const int64_t category = d.depth() < json_.depth() ? 3 : kind;
    return category * 100000000 - (int64_t) d.depth() * 1000 + n;
}

// Closing mode's cheap step: only the vocabulary's structural tokens (pieces made of `"}],:` and whitespace, found
// once per request) are offered to the grammar; -1 when it allows none of them (a key's letters, a number's digits),
// and the whole vocabulary is masked instead.
llama_token SeqSampler::pick_closer(const float * row) {
    if (!closers_ready_) {
        closers_ready_ = true;
        char piece[256];
        for (llama_token t = 0; t < n_vocab_; ++t) {
            const int32_t n = llama_token_to_piece(vocab_, t, piece, sizeof(piece), 0, false);
            bool structural = n > 0, closes = false;
            for (int32_t i = 0; i < n && structural; ++i) {
                const char c = piece[i];
                structural = c == '"' || c == '}' || c == ']' || c == ',' || c == ':' || c == ' ' || c == '\n' || c == '\t';
                closes = closes || c == '"' || c == '}' || c == ']';
            }
            if (structural && closes) closers_.push_back(t);
        }
    }
    std::vector<llama_token_data> cand;
    cand.reserve(closers_.size());
    for (llama_token t : closers_) cand.push_back({t, row[t], 0.0f});
    llama_token_data_array arr = {cand.data(), cand.size(), -1, false};
    llama_sampler_apply(grammar_, &arr);
    llama_token best = -1;
    int64_t best_rank = 0;
    float best_logit = 0;
    for (size_t i = 0; i < arr.size; ++i) {
        if (arr.data[i].logit == -INFINITY) continue;
        const int64_t r = closing_rank(arr.data[i].id);
        if (best < 0 || r > best_rank || (r == best_rank && arr.data[i].logit > best_logit)) {
            best = arr.data[i].id;
            best_rank = r;
            best_logit = arr.data[i].logit;
        }
    }
    return best;
}

// The whole vocabulary masked by the grammar, then the usual chain over what is left (greedy in closing mode, by
// closing strength first).
llama_token SeqSampler::pick_constrained(const float * row, bool closing) {
    cur_.resize(n_vocab_);
    for (int32_t i = 0; i < n_vocab_; ++i) cur_[i] = llama_token_data{i, row[i], 0.0f};
    llama_token_data_array all = {cur_.data(), cur_.size(), -1, false};
    llama_sampler_apply(grammar_, &all);
    size_t n = 0;
    for (size_t i = 0; i < all.size; ++i)
        if (all.data[i].logit != -INFINITY) cur_[n++] = all.data[i];
    cur_.resize(n);
    if (n == 0) return -1;
    if (closing || !chain_) {
        size_t best = 0;
        int64_t best_rank = closing ? closing_rank(cur_[0].id) : 0;
        for (size_t i = 1; i < n; ++i) {
            const int64_t r = closing ? closing_rank(cur_[i].id) : 0;
            if (r > best_rank || (r == best_rank && cur_[i].logit > cur_[best].logit)) {
                best = i;
                best_rank = r;
            }
        }
        return cur_[best].id;
    }
    auto desc = [](const llama_token_data & a, const llama_token_data & b) {
        return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
    };
    const size_t k = (p_.top_k > 0 && (size_t) p_.top_k < n) ? (size_t) p_.top_k : n;
    std::partial_sort(cur_.begin(), cur_.begin() + k, cur_.end(), desc);
    cur_.resize(k);
    llama_token_data_array arr = {cur_.data(), cur_.size(), -1, true};
    llama_sampler_apply(chain_, &arr);
    if (arr.selected < 0 || (size_t) arr.selected >= arr.size) return arr.data[0].id;
    return arr.data[arr.selected].id;
}

void SeqSampler::compute_logprobs(const float * row, llama_token chosen) {
    const float m = block_max(row, n_vocab_);
    double sum = 0;
    for (int32_t i = 0; i < n_vocab_; ++i) sum += std::exp((double) (row[i] - m));
    const float log_z = m + (float) std::log(sum);
    lp_.id = chosen;
    lp_.logprob = row[chosen] - log_z;
    lp_.top.clear();
    const int32_t k = std::min(p_.n_logprobs, n_vocab_);
    if (k <= 0) return;
    // The k largest in one pass (a min-heap on the logit, k <= 20).
    auto worse = [](const std::pair<llama_token, float> & a, const std::pair<llama_token, float> & b) {
        return a.second > b.second;
    };
    auto & h = lp_.top;
    for (int32_t i = 0; i < n_vocab_; ++i) {
        if ((int32_t) h.size() < k) {
            h.push_back({i, row[i]});
            std::push_heap(h.begin(), h.end(), worse);
        } else if (row[i] > h.front().second) {
            std::pop_heap(h.begin(), h.end(), worse);
            h.back() = {i, row[i]};
            std::push_heap(h.begin(), h.end(), worse);
        }
    }
    std::sort(h.begin(), h.end(), [](const auto & a, const auto & b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    for (auto & e : h) e.second -= log_z;
}

llama_token SeqSampler::pick(const float * row) {
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
