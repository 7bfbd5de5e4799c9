// Per-sequence sampling: repeat penalty over a recent-token window, an optional GBNF grammar, then top-k, top-p,
// temperature and a seeded draw; optionally the log-probabilities of each step. Threading: a SeqSampler belongs to one sequence of one decode loop and is used only on that loop's thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
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
    // OpenAI's frequency and presence penalties, llama.cpp's semantics: a window token's logit loses
    // count * penalty_freq + penalty_present (after the repeat penalty). 0 turns each off.
    float penalty_freq = 0;
    float penalty_present = 0;
    int32_t repeat_last_n = 0;
    // Added to the named tokens' logits before the penalties (OpenAI's logit_bias; -INFINITY bans a token).
    std::vector<std::pair<llama_token, float>> logit_bias;
    // GBNF constraining the output ("" = none) and its start rule. Lazy: the grammar applies only from the first
    // match of a trigger pattern on (a tool call that may start mid-text); the grammar text must start there too.
    std::string grammar;
    std::string grammar_root = "root";
    bool grammar_lazy = false;
    // The grammar writes JSON: near max_tokens, prefer tokens that close open strings, arrays and objects.
    bool grammar_close_json = false;
    std::vector<std::string> grammar_triggers;
    // Literal words the trigger patterns wait for (each pattern's capture starts with one). When given, the output is
    // watched for them here, and the grammar is handed only the tokens from the one where a word starts: llama.cpp
    // runs a trigger pattern over the whole output so far on every token (a long free-text reply then costs
    // polynomial time), a word search over the last few bytes does not.
    std::vector<std::string> grammar_trigger_words;
    // -1: no log-probabilities; 0: the sampled token's; k > 0: also the k most likely.
    int32_t n_logprobs = -1;
};

// One step's log-probabilities: log-softmax of the logits after the repeat penalty, before grammar, top-k, top-p
// and temperature (the model's own distribution, as OpenAI reports it).
struct TokenLogprob {
    llama_token id = 0;
    float logprob = 0;
    std::vector<std::pair<llama_token, float>> top;
};

// Open JSON structure of the generated text (brackets and strings), for closing it when the budget runs out.
struct JsonDepth {
    std::string stack;  // '{' / '[' still open
    bool in_string = false;
    bool escaped = false;
    void push(const char * piece, int32_t n);
    int32_t depth() const { return (int32_t) stack.size() + (in_string ? 1 : 0); }
};

class SeqSampler {
  public:
    // Throws std::runtime_error when the grammar does not parse (JS checks it before submitting).
    SeqSampler(const SamplingParams & p, const llama_vocab * vocab, int32_t max_tokens);
    ~SeqSampler();
    SeqSampler(const SeqSampler &) = delete;
    SeqSampler & operator=(const SeqSampler &) = delete;

    // Records a token (prompt or generated) in the repeat-penalty window.
    void accept(llama_token t);
    // A generated token: the repeat-penalty window and the grammar's state.
    void accept_generated(llama_token t);
    // Picks the next token from one row of logits; `left` is how many more tokens the request may generate. -1 when
    // the grammar allows no token at all (it cannot continue). With a grammar, the last quarter of the budget closes
    // the structure: of the tokens the grammar allows, the one leaving the fewest strings, arrays and objects open
    // wins (then the likeliest), so output that runs long still ends as a complete, parseable value (a random-weight
    // model would otherwise fill a string until the limit).
    llama_token sample(const float * logits, int32_t left);
    // The last sample()'s log-probabilities (when asked for).
    const TokenLogprob & last_logprob() const { return lp_; }
    bool wants_logprobs() const { return p_.n_logprobs >= 0; }

  private:
    llama_token pick(const float * row);
    llama_token pick_constrained(const float * row, bool closing);
    llama_token pick_closer(const float * row);
    bool grammar_allows(llama_token t, const float * row);
    void compute_logprobs(const float * row, llama_token chosen);
    int64_t closing_rank(llama_token t);

    SamplingParams p_;
    const llama_vocab * vocab_;
    int32_t n_vocab_;
    int32_t close_from_ = 0;  // `left` at or below which the grammar's structure is closed
    bool penalized() const {
        return p_.repeat_last_n > 0 && (p_.repeat_penalty != 1.0f || p_.penalty_freq != 0.0f || p_.penalty_present != 0.0f);
    }
    // The penalties are applied here rather than by llama.cpp's penalties sampler: that one does a hash lookup for
    // every vocabulary entry per token (~32k lookups), this touches only the window's tokens (and the biased ones).
    std::deque<llama_token> window_;
    std::vector<int32_t> counts_;
    std::vector<llama_token> distinct_;
    std::vector<llama_token_data> cur_;
    std::vector<float> scratch_;
    llama_sampler * chain_ = nullptr;
    llama_sampler * grammar_ = nullptr;
    TokenLogprob lp_;
    JsonDepth json_;
    std::vector<llama_token> closers_;  // structural tokens that close something (closing mode), found on first use
    bool closers_ready_ = false;
    // Trigger words (SamplingParams::grammar_trigger_words): the grammar sees no token until a word appears.
    bool watching_ = false;
    std::string watch_text_;                              // the output's tail a word may still be starting in
    std::vector<std::pair<llama_token, size_t>> watch_tokens_;  // tokens of that tail, with their start in it
    size_t longest_word_ = 0;
    void watch(llama_token t, const char * piece, int32_t n);
    void grammar_accept(llama_token t);
};

}  // namespace rfx
