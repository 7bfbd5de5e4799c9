// A generation context: one llama_context decoded by a native thread that batches every running sequence.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common.h"
#include "seq-sampler.h"
#include "text-stream.h"
#include "threadpool.h"

namespace rfx {

struct Request {
    double id = 0;
    std::vector<llama_token> prompt;
    SamplingParams sampling;
    std::vector<std::string> stops;
    int32_t max_tokens = 256;
    bool ignore_eos = false;
    // Without a listener for streamed text the whole text comes with DONE: no JS wake-up per token.
    bool stream = true;
    double t_submit = 0;
};

// One event for JS; DONE carries the final text piece and the request's numbers.
struct Event {
    enum Kind { READY, TEXT, DONE, FATAL, CLOSED } kind;
    explicit Event(Kind k) : kind(k) {}
    double id = 0;
    std::string text;
    std::string finish;  // "stop" | "length" | "cancelled" | "error"
    std::string error;   // machine code for JS ("context_overflow", "decode_failed", ...) or fatal message
    int32_t prompt_tokens = 0;
    int32_t completion_tokens = 0;
    double t_submit = 0, t_admit = 0, t_prompt_done = 0, t_last = 0, t_end = 0;
    std::vector<double> token_times;
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
    double max_batch_seqs = 0;
    double split_steps = 0;   // decode steps run as one llama_decode per sequence (see BatchSplit)
    llama_perf_context_data perf{};
};

// Whether a pure decode step of n > 1 sequences runs as one n-token llama_decode or as n one-token calls. Batching
// usually wins, but not always: for q8_0 weights ggml's batched kernel (llamafile's tinyBLAS) is slower per token at
// 2-4 rows than the one-row kernel on some CPUs, so "auto" times both on the running model and takes the faster.
enum class BatchSplit { NEVER, AUTO, ALWAYS };

// Per-batch-size decode cost, measured on pure decode steps only (prompt chunks change the cost).
class SplitTuner {
  public:
    void reset(BatchSplit mode, uint32_t n_max);
    bool split(int n, bool prompts_waiting);
    void record(int n, double ms);

  private:
    BatchSplit mode_ = BatchSplit::AUTO;
    std::vector<double> ms_;        // EWMA of one call's wall ms by tokens in the call; 0 = not measured yet
    std::vector<uint32_t> steps_;   // decisions taken at each size, for periodic re-measuring
};

class Generator : public Napi::ObjectWrap<Generator> {
  public:
    static Napi::Function Define(Napi::Env env);
    explicit Generator(const Napi::CallbackInfo & info);
    ~Generator() override;

    // Stops the loop and waits for its thread (env teardown: no JS callback will run any more).
    void shutdown_blocking();

  private:
    struct Slot {
        bool active = false;
        bool cancelled = false;
        bool generating = false;
        bool sent_text = false;
        llama_seq_id seq = 0;
        Request req;
        size_t prompt_pos = 0;
        int32_t n_past = 0;
        int32_t n_gen = 0;
        llama_token last = 0;
        int32_t batch_idx = -1;  // row of this slot's logits in the current batch, -1 if none
        double t_admit = 0, t_prompt_done = 0;
        std::vector<double> token_times;
        std::unique_ptr<SeqSampler> sampler;
        std::unique_ptr<TextStream> text;
    };

    Napi::Value Submit(const Napi::CallbackInfo & info);
    Napi::Value Cancel(const Napi::CallbackInfo & info);
    Napi::Value Close(const Napi::CallbackInfo & info);
    Napi::Value Stats(const Napi::CallbackInfo & info);
    Napi::Value ResetStats(const Napi::CallbackInfo & info);
    Napi::Value ActiveCount(const Napi::CallbackInfo & info);

    void run();
    void step();
    bool split_step(double t_step);
    int32_t decode_batch(double & ms);
    void take_token(Slot & s, const float * logits);
    void record_step(double t_step, double t1, double decode_ms, int32_t decode_calls, int32_t n_tokens, int32_t n_prompt,
                     int32_t n_sampled, int32_t n_seqs, bool split);
    void admit_locked();
    void finish(Slot & s, const char * reason, const char * error = "");
    void evict_one();
    int32_t used_cells() const;
    void emit(Event && e);
    void notify_js();
    void drain(Napi::Env env, Napi::Function fn);
    void hold(Napi::Env env);
    void release(Napi::Env env);

    ModelRef model_;
    // Options fixed at construction.
    uint32_t n_ctx_opt_ = 4096, n_batch_opt_ = 512, n_ubatch_opt_ = 512, n_seq_ = 1;
    int32_t n_threads_ = 1;
    uint32_t poll_ = 0;
    bool kv_unified_ = true;
    BatchSplit batch_split_ = BatchSplit::AUTO;
    // Fewer JS wake-ups per token: on a 2-core machine Node's main thread competes with the decode threads.
    double flush_ms_ = 0;

    // Owned by the loop thread.
    llama_context * ctx_ = nullptr;
    std::shared_ptr<Threadpool> threadpool_;
    llama_batch batch_{};
    std::vector<Slot> slots_;
    int32_t n_ctx_ = 0, n_ctx_seq_ = 0, n_batch_ = 0, n_vocab_ = 0;
    std::vector<int> prompt_order_;
    bool exit_stop_registered_ = false;
    SplitTuner tuner_;

    // Shared with JS thread.
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Request> pending_;
    std::unordered_set<double> cancels_;
    std::atomic<bool> stopping_{false};
    std::atomic<int32_t> n_active_{0};
    bool reset_stats_ = false;

    std::mutex stats_mu_;
    GeneratorStats stats_;

    std::mutex out_mu_;
    std::vector<Event> outbox_;
    std::atomic<bool> call_pending_{false};
    std::atomic<bool> urgent_{false};
    std::atomic<bool> has_events_{false};
    double last_notify_ = 0;  // loop thread only
    Napi::ThreadSafeFunction tsfn_;
    int holds_ = 0;          // JS-thread only: reasons to keep the event loop alive
    bool closed_ = false;    // JS-thread only: CLOSED delivered, tsfn gone
    bool close_requested_ = false;
};

}  // namespace rfx
