// The continuous-batching decode loop: one llama_context whose sequences (slots) are decoded together by one native
// thread; requests join between steps, prompts are fed in chunks, and a finished sequence keeps its KV (prefix cache)
// until a new request reuses its longest common prefix or the pool needs the cells.
//
// Threading: start() launches the loop thread, which alone touches the context, the slots, the batch and the tuner.
// submit(), cancel(), request_stop(), reset_stats(), stats(), active_count() and take_events() may be called from any
// other thread (the JS thread in practice): they only touch the queue, the cancel set, the stats and the outbox, each
// under its mutex. stop_and_join() must not be called on the loop thread. The `wake` and `exited` callbacks run on
// the loop thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common.h"
#include "seq-sampler.h"
#include "split-tuner.h"
#include "thread-governor.h"
#include "text-stream.h"
#include "threadpool.h"

namespace rfx {

// Query rows from which ggml-cpu's flash attention goes in tiles (GGML_FA_TILE_Q) instead of one row at a time
// (fill_attention_tile); exported to JS as attentionTileRows (the serving benchmark's kernel floor).
constexpr int32_t TILE_ROWS = 64;

// Fixed for the life of a loop. The binding fills every field from the Generator options, which JS always passes:
// the defaults live once, in src/engine/native/native-engine.ts.
// fill_attention_tile: AUTO when its cost model says it is faster, NEVER, ALWAYS whenever the cache allows (tests).
enum class TileFill { NEVER, AUTO, ALWAYS };
// How many waiting prompts one step evaluates (prompt_split_may_stop, prompt_split_stops): NEVER as many as the batch
// holds; AUTO at least half of the waiting prompt rows, then more while the cost model says the next one costs the
// step's other sequences less than a step of its own would cost it and the prompts behind it, and a prompt left to
// the next step once is not left again (a burst goes in at most two steps); ALWAYS one prompt per step.
enum class PromptSplit { NEVER, AUTO, ALWAYS };

struct LoopOptions {
    uint32_t n_ctx = 0, n_batch = 0, n_ubatch = 0, n_seq = 0;
    int32_t n_threads = 0;
    uint32_t poll = 0;
    bool kv_unified = false;
    // Keep a finished sequence's KV and token history for the next request's longest common prefix.
    bool prefix_cache = false;
    // Drop to one thread without spin-polling while decode steps show CPU contention (ThreadGovernor).
    bool adapt_threads = false;
    BatchSplit batch_split = BatchSplit::AUTO;
    TileFill tile_fill = TileFill::AUTO;
    PromptSplit prompt_split = PromptSplit::AUTO;
    // Least ms between two hand-overs of streamed text (0 = after every decode step).
    double flush_ms = 0;
};

struct Request {
    double id = 0;
    std::vector<llama_token> prompt;
    SamplingParams sampling;
    std::vector<std::string> stops;
    int32_t max_tokens = 0;
    // Most tokens (prompt + generated) this request may hold in the KV cache; 0 = the context of a sequence.
    int32_t n_ctx_limit = 0;
    bool ignore_eos = false;
    // DONE carries the generated token ids (Ollama's `context`).
    bool want_tokens = false;
    // false (llama-server's cache_prompt: false): the whole prompt is evaluated, no cached or running prefix taken.
    bool reuse_prefix = true;
    // Without a listener for streamed text the whole text comes with DONE: no JS wake-up per token.
    bool stream = true;
    double t_submit = 0;
};

// One generated token's log-probabilities, with the text of each token named (SeqSampler::TokenLogprob resolved).
struct LogprobOut {
    std::string text;
    float logprob = 0;
    std::vector<std::pair<std::string, float>> top;
};

// One event for JS; READY carries the context's sizes, DONE the final text piece and the request's numbers.
struct Event {
    enum Kind { READY, TEXT, DONE, FATAL, CLOSED } kind;
    explicit Event(Kind k) : kind(k) {}
    double id = 0;
    std::string text;
    std::string finish;  // "stop" | "length" | "cancelled" | "error"
    std::string error;   // machine code for JS ("context_overflow", "decode_failed", ...) or fatal message
    int32_t context_size = 0, sequence_context_size = 0, batch_size = 0;  // READY only
    int32_t prompt_tokens = 0;
    int32_t cached_tokens = 0;  // prompt tokens whose KV came from the prefix cache (not evaluated)
    int32_t completion_tokens = 0;
    std::vector<int32_t> tokens;  // generated ids, when the request asked
    double t_submit = 0, t_admit = 0, t_prompt_done = 0, t_last = 0, t_end = 0;
    std::vector<double> token_times;
    std::vector<LogprobOut> logprobs;  // TEXT and DONE: the tokens sampled since the last event, when asked for
};

struct GeneratorStats {
    double decode_ms = 0;     // wall time inside llama_decode + logits sync
    double busy_ms = 0;       // wall time of loop steps that had work
    double sample_ms = 0;     // sampling + detokenizing + stop matching
    double decode_calls = 0;
    double decode_steps = 0;  // loop steps that decoded: one batched call, or one call per sequence when split
    double single_decode_ms = 0;     // the part of decode_ms spent on one-token batches (what llama-bench's tg times)
    double single_decode_calls = 0;
    double batch_tokens = 0;  // tokens submitted to llama_decode
    double generated = 0;     // tokens sampled
    double prompt_tokens = 0;
    double cached_tokens = 0;   // prompt tokens taken from the prefix cache instead of evaluated
    double cache_evictions = 0; // idle cached sequences dropped to make room
    double max_batch_seqs = 0;
    double split_steps = 0;   // decode steps run as one llama_decode per sequence (see BatchSplit)
    double shared_prefixes = 0;     // prompts that took a running request's prefix (seq_cp) instead of evaluating it
    double reduced_calls = 0;       // llama_decode calls run on one thread because of contention
    double contention_events = 0;   // times the governor left the full pool
    double tile_fills = 0;          // prompt batches filled to a flash-attention tile with cached tokens
    double cache_parks = 0;         // idle cached sequences copied to host memory to leave the pool to active ones
    double cache_restores = 0;      // parked caches put back for a request that reuses their prefix
    double prompt_splits = 0;       // steps that left a waiting prompt to the next step (PromptSplit)
    double pool_resets = 0;         // empty unified pool's placement reset to cell 0 (compact_empty_pool)
    llama_perf_context_data perf{};
};

class DecodeLoop {
  public:
    // `wake`: events wait in the outbox (take them with take_events()). `exited`: the loop thread's last act, after
    // CLOSED was queued and announced; nothing is called after it.
    DecodeLoop(ModelRef model, const LoopOptions & options, std::function<void()> wake, std::function<void()> exited);
    ~DecodeLoop();

    void start();
    void submit(Request && r);
    // While held, submitted requests wait in the queue (a batch of submissions then starts together).
    void hold_admission(bool on);
    void cancel(double id);
    // Every queued and running request ends "cancelled", then CLOSED is queued and the context is freed.
    void request_stop();
    // request_stop() and wait for the loop thread (env teardown, destruction, or after CLOSED was delivered).
    void stop_and_join();
    void reset_stats();
    GeneratorStats stats();
    int32_t active_count() const { return n_active_.load(); }
    std::vector<Event> take_events();

  private:
    struct Slot {
        bool active = false;
        bool cancelled = false;
        bool generating = false;
        bool sent_text = false;
        llama_seq_id seq = 0;
        Request req;
        size_t prompt_pos = 0;
        int32_t n_past = 0;        // == cached.size(): cells this sequence holds
        int32_t n_gen = 0;
        int32_t limit = 0;         // most cells this request may hold
        int32_t reserve = 0;       // cells held for it in the unified pool while active (prompt + max_tokens)
        int32_t n_reused = 0;      // prompt tokens taken from the cache
        // Sharing a prompt prefix with a running request (n > 1 choices, one system prompt): that request's slot and
        // id, and how many prompt tokens to copy from it once it has evaluated them; lead < 0 when not following.
        int lead = -1;
        double lead_id = 0;
        size_t lead_upto = 0;
        double last_used = 0;      // LRU order of idle cached sequences
        // Tokens whose KV this sequence holds, positions 0..cached.size()-1: in the pool (n_past == cached.size()),
        // or parked in host memory (`parked`, llama_state_seq_get_data; n_past == 0) while other sequences run.
        std::vector<llama_token> cached;
        std::vector<uint8_t> parked;
        size_t parked_n = 0;       // tokens in `parked`
        bool restore = false;      // admitted on a parked cache: put it back before the prompt's first step
        bool left_once = false;    // a prompt split left this prompt to the next step once: it is not left again
        std::vector<int32_t> generated;      // when req.want_tokens
        llama_token last = 0;
        int32_t batch_idx = -1;  // row of this slot's logits in the current batch, -1 if none
        double t_admit = 0, t_prompt_done = 0;
        std::vector<double> token_times;
        std::vector<LogprobOut> logprobs;  // not yet handed out
        std::unique_ptr<SeqSampler> sampler;
        std::unique_ptr<TextStream> text;
    };

    void run();
    void step();
    bool split_step(double t_step);
    int32_t decode_batch(double & ms, bool reduced);
    void count_threads(bool reduced, int32_t calls);
    void take_token(Slot & s, const float * logits);
    void record_logprob(Slot & s);
    void record_step(double t_step, double t1, double decode_ms, int32_t decode_calls, int32_t n_tokens, int32_t n_prompt,
                     int32_t n_sampled, int32_t n_seqs, bool split);
    void admit_locked();
    void finish(Slot & s, const char * reason, const char * error = "");
    void end_queued(const Request & r, const char * finish, const char * error = "");
    void evict_one();
    bool evict_idle(const Slot * keep);
    void drop_cache(Slot & s);
    void release_parked(Slot & s);
    void add_prompt_rows(Slot & s, int32_t n);
    void park_idle();
    void restore_parked();
    void compact_empty_pool();
    Slot * pick_slot(const Request & r, size_t & n_keep);
    void pick_lead(Slot & s);
    bool follow_lead(Slot & s);
    void fill_attention_tile(std::vector<std::pair<Slot *, int32_t>> & chunks);
    bool prompt_split_may_stop(const Slot & s, int64_t taken_rows, int64_t waiting_rows) const;
    bool prompt_split_stops(int32_t n_rows, int32_t n_waiting, int32_t n_delayed) const;
    int32_t used_cells() const;
    int32_t held_cells(const Slot * except) const;
    void emit(Event && e);
    void flush();

    ModelRef model_;
    const LoopOptions opt_;
    std::function<void()> wake_, exited_;

    // Owned by the loop thread.
    llama_context * ctx_ = nullptr;
    std::shared_ptr<Threadpool> threadpool_;
    llama_batch batch_{};
    std::vector<Slot> slots_;
    int32_t n_ctx_ = 0, n_ctx_seq_ = 0, n_batch_ = 0, n_vocab_ = 0;
    std::vector<int> prompt_order_;
    // fill_attention_tile: whether it applies to this context, and its cost model's flops per row of the weight
    // matrices and per row and cached cell of attention.
    bool tile_fill_ = false;
    size_t parked_tokens_ = 0;  // tokens of all parked caches; at most the pool's size (LRU dropped beyond)
    double tile_weight_flops_ = 0, tile_attn_flops_ = 0;
    bool exit_stop_registered_ = false;
    SplitTuner tuner_;
    // prompt_split_stops' cost model: ms of one row in a prompt step beyond the call's own cost (EWMA); the call's
    // own cost is the tuner's fewest-row decode call.
    double prompt_row_ms_ = 0;
    ThreadGovernor governor_;
    bool threads_reduced_ = false;  // what the context runs with now
    double last_notify_ = 0;

    // Shared with other threads.
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Request> pending_;
    bool admission_held_ = false;  // guarded by mu_
    std::unordered_set<double> cancels_;
    std::atomic<bool> stopping_{false};
    std::atomic<int32_t> n_active_{0};
    bool reset_stats_ = false;

    std::mutex stats_mu_;
    GeneratorStats stats_;

    std::mutex out_mu_;
    std::vector<Event> outbox_;
    std::atomic<bool> urgent_{false};
    std::atomic<bool> has_events_{false};
};

}  // namespace rfx
