// The continuous-batching decode loop: requests join between steps, prompts are fed in chunks, and a finished
// sequence's KV stays as a prefix cache (slot affinity, as llama-server's cache_prompt) until evicted LRU.
#include "decode-loop.h"

#include <algorithm>
#include <cstring>

namespace rfx {

// fill_attention_tile's cost model: time per attention flop (QK and V) on ggml-cpu's per-row flash-attention path and
// on its tiled path (a full tile), in units of the time per flop of the weight matrices; and how much faster the
// filled batch must be predicted to be. Fitted on `small` q4_0, 2 threads, AVX2 (native/README.md, "Tile fill").
constexpr double TILE_ROW_COST = 11.0;
constexpr double TILE_TILED_COST = 2.4;
constexpr double TILE_MARGIN = 1.1;

DecodeLoop::DecodeLoop(ModelRef model, const LoopOptions & options, std::function<void()> wake, std::function<void()> exited)
    : model_(std::move(model)), opt_(options), wake_(std::move(wake)), exited_(std::move(exited)) {}

DecodeLoop::~DecodeLoop() { stop_and_join(); }

void DecodeLoop::start() {
    thread_ = std::thread([this]() { run(); });
}

void DecodeLoop::submit(Request && r) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        pending_.push_back(std::move(r));
    }
    cv_.notify_one();
}

void DecodeLoop::hold_admission(bool on) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        admission_held_ = on;
    }
    if (!on) cv_.notify_one();
}

void DecodeLoop::cancel(double id) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        cancels_.insert(id);
    }
    cv_.notify_one();
}

void DecodeLoop::request_stop() {
    stopping_ = true;
    cv_.notify_all();
}

void DecodeLoop::stop_and_join() {
    request_stop();
    if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
}

void DecodeLoop::reset_stats() {
    std::lock_guard<std::mutex> lk(mu_);
    reset_stats_ = true;
    cv_.notify_one();
}

GeneratorStats DecodeLoop::stats() {
    std::lock_guard<std::mutex> lk(stats_mu_);
    return stats_;
}

std::vector<Event> DecodeLoop::take_events() {
    std::vector<Event> events;
    std::lock_guard<std::mutex> lk(out_mu_);
    events.swap(outbox_);
    return events;
}

// ---- event hand-over ------------------------------------------------------------------------------------------

void DecodeLoop::emit(Event && e) {
    if (e.kind != Event::TEXT) urgent_ = true;
    has_events_ = true;
    std::lock_guard<std::mutex> lk(out_mu_);
    // Consecutive text of one request merges, so a slow JS thread receives fewer, larger chunks.
    if (e.kind == Event::TEXT && !outbox_.empty()) {
        for (auto it = outbox_.rbegin(); it != outbox_.rend(); ++it) {
            if (it->id == e.id && it->kind == Event::TEXT) {
                it->text += e.text;
                for (auto & l : e.logprobs) it->logprobs.push_back(std::move(l));
                return;
            }
            if (it->id == e.id) break;
        }
    }
    outbox_.push_back(std::move(e));
}

void DecodeLoop::flush() {
    has_events_ = false;
    wake_();
}

// ---- the loop thread ------------------------------------------------------------------------------------------

static bool abort_cb(void * data) { return ((std::atomic<bool> *) data)->load(); }

void DecodeLoop::run() {
    auto cp = llama_context_default_params();
    cp.n_ctx = opt_.n_ctx;
    cp.n_batch = opt_.n_batch;
    cp.n_ubatch = opt_.n_ubatch;
    cp.n_seq_max = opt_.n_seq;
    cp.n_threads = opt_.n_threads;
    cp.n_threads_batch = opt_.n_threads;
    cp.kv_unified = opt_.kv_unified;
    cp.no_perf = false;
    cp.abort_callback = abort_cb;
    cp.abort_callback_data = &stopping_;
    clear_llama_error();
    ctx_ = llama_init_from_model(model_->model, cp);
    if (!ctx_) {
        Event e(Event::FATAL);
        std::string why = last_llama_error();
        e.error = why.empty() ? "llama.cpp could not create the context" : why;
        emit(std::move(e));
        emit(Event(Event::CLOSED));
        flush();
        exited_();
        return;
    }
    threadpool_ = shared_threadpool(opt_.n_threads, opt_.poll);
    threadpool_->attach(ctx_);
    n_ctx_ = (int32_t) llama_n_ctx(ctx_);
    n_ctx_seq_ = (int32_t) llama_n_ctx_seq(ctx_);
    n_batch_ = (int32_t) llama_n_batch(ctx_);
    n_vocab_ = llama_vocab_n_tokens(model_->vocab);
    batch_ = llama_batch_init(n_batch_, 0, 1);
    slots_.resize(opt_.n_seq);
    tuner_.reset(opt_.batch_split, opt_.n_seq);
    governor_.reset(opt_.n_threads, opt_.n_seq, opt_.adapt_threads);
    for (uint32_t i = 0; i < opt_.n_seq; ++i) slots_[i].seq = (llama_seq_id) i;
    {
        // The per-row path is ggml-cpu's, under llama.cpp's default flash attention ("auto": on for the CPU); with
        // layers on a GPU, sliding-window attention or per-sequence KV streams the batch shapes differ: no fill.
        const llama_model * m = model_->model;
        const double n_embd = llama_model_n_embd(m);
        tile_fill_ = opt_.tile_fill != TileFill::NEVER && opt_.kv_unified && model_->gpu_layers == 0 &&
                     llama_model_n_swa(m) == 0 && n_batch_ >= TILE_ROWS && (int32_t) llama_n_ubatch(ctx_) >= TILE_ROWS;
        // Weights: every matrix but the token embeddings (a lookup) and the output (rows without logits skip it).
        tile_weight_flops_ = 2.0 * std::max(0.0, (double) llama_model_n_params(m) - 2.0 * n_vocab_ * n_embd);
        tile_attn_flops_ = 4.0 * llama_model_n_layer(m) * n_embd;
    }
    Event ready(Event::READY);
    ready.context_size = n_ctx_;
    ready.sequence_context_size = n_ctx_seq_;
    ready.batch_size = n_batch_;
    emit(std::move(ready));
    flush();

    while (true) {
        {
            std::unique_lock<std::mutex> lk(mu_);
            if (n_active_ == 0 && pending_.empty()) governor_.idle();
            cv_.wait(lk, [&] {
                return stopping_ || (!pending_.empty() && !admission_held_) || !cancels_.empty() || reset_stats_ ||
                       n_active_ > 0;
            });
            if (stopping_) break;
            if (reset_stats_) {
                reset_stats_ = false;
                llama_perf_context_reset(ctx_);
                std::lock_guard<std::mutex> sl(stats_mu_);
                stats_ = GeneratorStats{};
            }
            for (double id : cancels_) {
                auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Request & r) { return r.id == id; });
                if (it != pending_.end()) {
                    end_queued(*it, "cancelled");
                    pending_.erase(it);
                    continue;
                }
                for (auto & s : slots_)
                    if (s.active && s.req.id == id) s.cancelled = true;
            }
            cancels_.clear();
            if (!admission_held_) admit_locked();
        }
        for (auto & s : slots_)
            if (s.active && s.cancelled) finish(s, "cancelled");
        park_idle();
        compact_empty_pool();
        restore_parked();
        if (n_active_ > 0) step();
        // Text is handed over at most every flush_ms; anything that ends or starts something goes at once. Nothing
        // to hand over means no call at all: each one wakes Node's thread, which then competes with the decode threads.
        const double now = now_ms();
        if (has_events_.load() && (urgent_.load() || n_active_ == 0 || now - last_notify_ >= opt_.flush_ms)) {
            urgent_ = false;
            last_notify_ = now;
            flush();
        }
    }

    // Shutdown: everything still queued or running ends "cancelled".
    for (auto & s : slots_)
        if (s.active) finish(s, "cancelled");
    {
        std::lock_guard<std::mutex> lk(mu_);
        for (auto & r : pending_) end_queued(r, "cancelled");
        pending_.clear();
    }
    llama_batch_free(batch_);
    llama_free(ctx_);
    ctx_ = nullptr;
    threadpool_.reset();  // after llama_free: the context no longer uses it
    emit(Event(Event::CLOSED));
    flush();
    exited_();
}

// Ends a request that never got a sequence (cancelled or refused while queued, or queued at shutdown).
void DecodeLoop::end_queued(const Request & r, const char * finish, const char * error) {
    Event e(Event::DONE);
    e.id = r.id;
    e.finish = finish;
    e.error = error;
    e.prompt_tokens = (int32_t) r.prompt.size();
    e.t_submit = r.t_submit;
    e.t_end = now_ms();
    emit(std::move(e));
}

// Cells the sequences occupy now, idle cached ones included.
int32_t DecodeLoop::used_cells() const {
    int32_t used = 0;
    for (auto & s : slots_) used += s.n_past;
    return used;
}

// Cells of the unified pool spoken for by every slot but `except`: an active request holds its whole reservation
// (prompt + max_tokens) from admission, so a running request can never run out of cells; an idle one its cache.
int32_t DecodeLoop::held_cells(const Slot * except) const {
    int32_t held = 0;
    for (auto & s : slots_)
        if (&s != except) held += s.active ? std::max(s.reserve, s.n_past) : s.n_past;
    return held;
}

void DecodeLoop::drop_cache(Slot & s) {
    if (s.n_past > 0 || !s.cached.empty()) llama_memory_seq_rm(llama_get_memory(ctx_), s.seq, -1, -1);
    s.n_past = 0;
    s.cached.clear();
    release_parked(s);
    s.restore = false;
}

void DecodeLoop::release_parked(Slot & s) {
    parked_tokens_ -= s.parked_n;
    s.parked_n = 0;
    s.parked = std::vector<uint8_t>();
}

// An idle cached sequence's cells stay in the unified pool, and every active sequence's attention walks them: ggml's
// flash attention reads the mask of every cell up to the highest one in use (measured on `small`, 2 threads: one
// stream's decode 182 tok/s alone, 162 next to 700 idle cached cells, 145 next to 3,000). llama-server's per-slot
// streams do not pay this, and it does not keep their caches in the pool either once a slot is reused (it moves
// them to host memory, --cache-ram). So while any request is active, idle caches are copied to host memory
// (llama_state_seq_get_data) and their cells freed; their tokens stay for the prefix match, and a request that
// reuses one puts it back (restore_parked) before its first step. Parked tokens are bounded by the pool's size,
// least recently used dropped first.
void DecodeLoop::park_idle() {
    // Per-sequence streams (kvUnified off) never see each other's cells: nothing to gain there. batchSplit "always"
    // promises each sequence exactly its output alone, and a restored cache's cells may come back in another order
    // (flash attention sums in pool order), so it keeps idle caches in place.
    if (!opt_.prefix_cache || !opt_.kv_unified || opt_.batch_split == BatchSplit::ALWAYS || n_active_ == 0) return;
    auto * mem = llama_get_memory(ctx_);
    for (auto & s : slots_) {
        if (s.active || s.n_past == 0) continue;
        const size_t size = llama_state_seq_get_size(ctx_, s.seq);
        std::vector<uint8_t> buf(size);
        if (size == 0 || llama_state_seq_get_data(ctx_, buf.data(), size, s.seq) != size) {
            drop_cache(s);
            continue;
        }
        llama_memory_seq_rm(mem, s.seq, -1, -1);
        s.parked = std::move(buf);
        s.parked_n = s.cached.size();
        parked_tokens_ += s.parked_n;
        s.n_past = 0;
        std::lock_guard<std::mutex> lk(stats_mu_);
        stats_.cache_parks += 1;
    }
    while (parked_tokens_ > (size_t) n_ctx_) {
        Slot * victim = nullptr;
        for (auto & s : slots_)
            if (!s.active && !s.parked.empty() && (!victim || s.last_used < victim->last_used)) victim = &s;
        if (!victim) break;
        drop_cache(*victim);
        std::lock_guard<std::mutex> lk(stats_mu_);
        stats_.cache_evictions += 1;
    }
}

// llama.cpp places a batch's tokens from where its last allocation ended (it goes back to cell 0 only when far more
// cells lie free below than are in use), and every row's attention walks the unified pool up to the highest cell in
// use. So after a sequential chat of 1,400-token prompts on 2 slots the next prompt went in at cells ~1,400-2,800
// behind a cache's few kept cells, and its evaluation took 20 % longer (measured: 1,612 -> 1,940 ms, `small`, 2
// threads). Whenever no sequence holds a cell of the pool (idle caches parked or dropped, the new prompts not
// started), the pool's bookkeeping is reset, so what comes next — restored caches first, then the prompts — is
// placed from cell 0. Parked caches live in host memory and are not touched.
void DecodeLoop::compact_empty_pool() {
    if (!opt_.kv_unified || used_cells() > 0) return;
    bool starting = false;
    for (auto & s : slots_) starting = starting || (s.active && !s.generating);
    if (!starting) return;
    llama_memory_clear(llama_get_memory(ctx_), false);
    std::lock_guard<std::mutex> lk(stats_mu_);
    stats_.pool_resets += 1;
}

// Requests admitted on a parked cache: its KV goes back into the pool and the tail past the common prefix is dropped.
// When the pool cannot take it (no free cells), the request evaluates its whole prompt instead.
void DecodeLoop::restore_parked() {
    auto * mem = llama_get_memory(ctx_);
    for (auto & s : slots_) {
        if (!s.active || !s.restore) continue;
        s.restore = false;
        const size_t n_keep = s.cached.size();
        const bool ok = llama_state_seq_set_data(ctx_, s.parked.data(), s.parked.size(), s.seq) > 0 &&
                        llama_memory_seq_rm(mem, s.seq, (llama_pos) n_keep, -1);
        release_parked(s);
        std::lock_guard<std::mutex> lk(stats_mu_);
        if (ok) {
            s.n_past = (int32_t) n_keep;
            stats_.cache_restores += 1;
            continue;
        }
        llama_memory_seq_rm(mem, s.seq, -1, -1);
        stats_.cached_tokens -= (double) n_keep;
        s.cached.clear();
        s.n_past = 0;
        s.prompt_pos = 0;
        s.n_reused = 0;
    }
}

// Frees the least recently used idle cached sequence other than `keep`; false when there is none.
bool DecodeLoop::evict_idle(const Slot * keep) {
    Slot * victim = nullptr;
    for (auto & s : slots_)
        if (!s.active && &s != keep && s.n_past > 0 && (!victim || s.last_used < victim->last_used)) victim = &s;
    if (!victim) return false;
    drop_cache(*victim);
    std::lock_guard<std::mutex> lk(stats_mu_);
    stats_.cache_evictions += 1;
    return true;
}

// The free slot for `r`: with the prefix cache, the one whose cached tokens share the longest prefix with the prompt
// when that prefix is at least a tenth of the prompt (as llama-server's slot similarity: a shared BOS alone must not
// cost another conversation its cache); otherwise an empty slot, then the least recently used. `n_keep` is how many
// cached tokens to reuse. At least the prompt's last token is always evaluated: its logits give the first token.
DecodeLoop::Slot * DecodeLoop::pick_slot(const Request & r, size_t & n_keep) {
    Slot * best = nullptr;
    size_t best_lcp = 0, best_score = 0;
    n_keep = 0;
    for (auto & s : slots_) {
        if (s.active) continue;
        size_t lcp = 0;
        if (opt_.prefix_cache && r.reuse_prefix) {
            const size_t n = std::min(s.cached.size(), r.prompt.size());
            while (lcp < n && s.cached[lcp] == r.prompt[lcp]) ++lcp;
        }
        const size_t score = lcp * 10 >= r.prompt.size() ? lcp : 0;
        const bool better = !best || score > best_score ||
                            (score == best_score && (s.cached.empty() ? !best->cached.empty()
                                                                      : !best->cached.empty() && s.last_used < best->last_used));
        if (better) {
            best = &s;
            best_lcp = lcp;
            best_score = score;
        }
    }
    // A prefix below the tenth is not kept either: its few cells would stay where that cache was, possibly high in the
    // unified pool, and every row of the new sequence walks the pool up to its highest cell in use (see
    // compact_empty_pool); evaluating those few tokens again costs less.
    if (best) n_keep = best_score > 0 ? std::min(best_lcp, r.prompt.size() - 1) : 0;
    return best;
}

// Concurrent prefix sharing (prefix cache on, unified KV): a request whose prompt shares a longer prefix with a
// running request's prompt than with any idle cache (the n choices of one prompt, many requests with one system
// prompt) does not evaluate that prefix itself. It waits until the running one has evaluated it, then takes it with
// llama_memory_seq_cp, which in the unified cache only adds the sequence to the same cells (no copy, no new cells),
// and evaluates the rest. The prefix must be a tenth of the prompt and 8 tokens beyond what the slot's own cache
// gives; the last prompt token is always evaluated (its logits give the first token).
void DecodeLoop::pick_lead(Slot & s) {
    s.lead = -1;
    if (!opt_.prefix_cache || !opt_.kv_unified || !s.req.reuse_prefix) return;
    const auto & p = s.req.prompt;
    size_t best = 0;
    int lead = -1;
    for (auto & o : slots_) {
        if (!o.active || &o == &s) continue;
        const auto & q = o.req.prompt;
        const size_t n = std::min(q.size(), p.size() - 1);
        size_t lcp = 0;
        while (lcp < n && q[lcp] == p[lcp]) ++lcp;
        if (lcp > best) {
            best = lcp;
            lead = (int) (&o - slots_.data());
        }
    }
    if (lead < 0 || best < s.prompt_pos + 8 || best * 10 < p.size()) return;
    s.lead = lead;
    s.lead_id = slots_[lead].req.id;
    s.lead_upto = best;
}

// A following slot before its prompt step: false while its lead has not evaluated the shared prefix yet (nothing
// of this prompt is scheduled then). A lead that ended first is let go and the prompt is evaluated as usual.
bool DecodeLoop::follow_lead(Slot & s) {
    if (s.lead < 0) return true;
    Slot & l = slots_[s.lead];
    if (!l.active || l.req.id != s.lead_id) {
        s.lead = -1;
        return true;
    }
    if (l.prompt_pos < s.lead_upto) return false;
    llama_memory_seq_cp(llama_get_memory(ctx_), l.seq, s.seq, (llama_pos) s.n_past, (llama_pos) s.lead_upto);
    const size_t from = s.prompt_pos;
    s.cached.insert(s.cached.end(), s.req.prompt.begin() + (long) from, s.req.prompt.begin() + (long) s.lead_upto);
    s.prompt_pos = s.lead_upto;
    s.n_past = (int32_t) s.lead_upto;
    s.n_reused = (int32_t) s.lead_upto;
    s.lead = -1;
    std::lock_guard<std::mutex> lk(stats_mu_);
    stats_.cached_tokens += (double) (s.lead_upto - from);
    stats_.shared_prefixes += 1;
    return true;
}

// Moves queued requests into free slots, oldest first, while the KV pool can hold their prompt and max_tokens.
void DecodeLoop::admit_locked() {
    while (!pending_.empty()) {
        auto & r = pending_.front();
        const int32_t limit = r.n_ctx_limit > 0 ? std::min(r.n_ctx_limit, n_ctx_seq_) : n_ctx_seq_;
        if ((int32_t) r.prompt.size() >= limit || r.prompt.empty()) {
            end_queued(r, "error", r.prompt.empty() ? "empty_prompt" : "context_overflow");
            pending_.pop_front();
            continue;
        }
        size_t n_keep = 0;
        Slot * free_slot = pick_slot(r, n_keep);
        if (!free_slot) return;
        const int32_t need = (int32_t) std::min<int64_t>(limit, (int64_t) r.prompt.size() + std::max(1, r.max_tokens));
        if (opt_.kv_unified) {
            // Idle caches go first (least recently used), so an active request never loses cells to one. When the
            // active reservations leave no room the request waits at the head of the queue (FIFO, no overtaking).
            while (held_cells(free_slot) + need > n_ctx_ && evict_idle(free_slot)) {}
            if (held_cells(free_slot) + need > n_ctx_) return;
        }
        std::unique_ptr<SeqSampler> sampler;
        try {
            sampler = std::make_unique<SeqSampler>(r.sampling, model_->vocab, r.max_tokens);
        } catch (const std::exception &) {
            // JS checks grammars before submitting; this is the backstop.
            end_queued(r, "error", "grammar_invalid");
            pending_.pop_front();
            continue;
        }
        Slot & s = *free_slot;
        auto * mem = llama_get_memory(ctx_);
        if (n_keep > 0 && !s.parked.empty()) {
            s.restore = true;  // restore_parked() puts the KV back before the first step
        } else if (n_keep == 0 || !llama_memory_seq_rm(mem, s.seq, (llama_pos) n_keep, -1)) {
            // A memory that cannot drop a tail (recurrent models) starts the sequence afresh.
            n_keep = 0;
            drop_cache(s);
        }
        s.cached.resize(n_keep);
        s.n_past = s.restore ? 0 : (int32_t) n_keep;
        s.active = true;
        s.cancelled = false;
        s.generating = false;
        s.req = std::move(r);
        pending_.pop_front();
        s.limit = limit;
        s.reserve = need;
        s.n_reused = (int32_t) n_keep;
        s.prompt_pos = n_keep;
        s.n_gen = 0;
        s.batch_idx = -1;
        s.t_admit = now_ms();
        s.t_prompt_done = 0;
        s.left_once = false;
        s.sent_text = false;
        s.token_times.clear();
        s.token_times.reserve(std::min(s.req.max_tokens, 4096));
        s.generated.clear();
        s.cached.reserve(need);
        s.logprobs.clear();
        s.sampler = std::move(sampler);
        const size_t window = (size_t) std::max(0, s.req.sampling.repeat_last_n);
        size_t from = s.req.prompt.size() > window ? s.req.prompt.size() - window : 0;
        for (size_t i = from; i < s.req.prompt.size(); ++i) s.sampler->accept(s.req.prompt[i]);
        s.text = std::make_unique<TextStream>(s.req.stops);
        pick_lead(s);
        prompt_order_.push_back((int) (&s - slots_.data()));
        ++n_active_;
        if (n_keep > 0) {
            std::lock_guard<std::mutex> lk(stats_mu_);
            stats_.cached_tokens += (double) n_keep;
        }
    }
}

void DecodeLoop::finish(Slot & s, const char * reason, const char * error) {
    Event e(Event::DONE);
    e.id = s.req.id;
    e.finish = reason;
    e.error = error;
    e.text = s.text ? s.text->take_rest() : std::string();
    e.prompt_tokens = (int32_t) s.req.prompt.size();
    e.cached_tokens = s.n_reused;
    e.completion_tokens = s.n_gen;
    e.tokens = std::move(s.generated);
    e.t_submit = s.req.t_submit;
    e.t_admit = s.t_admit;
    e.t_prompt_done = s.t_prompt_done;
    e.t_end = now_ms();
    e.token_times = std::move(s.token_times);
    e.logprobs = std::move(s.logprobs);
    s.logprobs.clear();
    emit(std::move(e));
    // With the prefix cache the sequence keeps its KV (what was decoded is valid, a cancelled prompt's chunks
    // included) for the next request; otherwise, or after a failed decode, its cells go back to the pool now.
    if (!opt_.prefix_cache || std::strcmp(reason, "error") == 0) drop_cache(s);
    s.last_used = now_ms();
    s.active = false;
    s.generating = false;
    s.reserve = 0;
    s.sampler.reset();
    s.text.reset();
    s.generated.clear();
    s.req.prompt.clear();
    s.req.prompt.shrink_to_fit();
    prompt_order_.erase(std::remove(prompt_order_.begin(), prompt_order_.end(), (int) (&s - slots_.data())),
                        prompt_order_.end());
    --n_active_;
}

// The KV cache has no room for this step: idle caches go first; then a generating sequence ends "length" (it has
// output), else the largest prompt fails. With reservations this is only reached when llama.cpp finds no slot
// for a micro-batch (fragmentation).
void DecodeLoop::evict_one() {
    if (evict_idle(nullptr)) return;
    Slot * victim = nullptr;
    for (auto & s : slots_)
        if (s.active && s.generating && (!victim || s.n_past > victim->n_past)) victim = &s;
    if (victim) {
        finish(*victim, "length");
        return;
    }
    for (auto & s : slots_)
        if (s.active && (!victim || s.n_past > victim->n_past)) victim = &s;
    if (victim) finish(*victim, "error", "context_full");
}

static int batch_add(llama_batch & b, llama_token t, llama_pos pos, llama_seq_id seq, bool logits) {
    int i = b.n_tokens++;
    b.token[i] = t;
    b.pos[i] = pos;
    b.n_seq_id[i] = 1;
    b.seq_id[i][0] = seq;
    b.logits[i] = logits;
    return i;
}

// One llama_decode of batch_, taking this context's turn on the shared threadpool (or, `reduced`, one thread of its
// own: no pool, so no worker spins); `ms` is its wall time.
int32_t DecodeLoop::decode_batch(double & ms, bool reduced) {
    int32_t ret;
    if (reduced != threads_reduced_) {
        threads_reduced_ = reduced;
        if (reduced) {
            llama_detach_threadpool(ctx_);
            llama_set_n_threads(ctx_, 1, 1);
        } else {
            threadpool_->attach(ctx_);
            llama_set_n_threads(ctx_, opt_.n_threads, opt_.n_threads);
        }
    }
    {
        std::lock_guard<FairLock> turn(decode_lock());
        const double t0 = now_ms();
        ret = llama_decode(ctx_, batch_);
        ms = now_ms() - t0;
    }
    if (ret == 0 && !exit_stop_registered_) {
        exit_stop_registered_ = true;
        register_exit_stop();
    }
    return ret;
}

// ggml-cpu's flash attention (llama.cpp's default on the CPU) takes a batch of fewer than 64 query rows one row at a
// time, each row walking its sequence's cached cells on its own; from 64 rows on it goes in tiles of 64 rows x 64
// cells, as matrix products, several times faster per row and cell. A chat's next turn is typically 20-60 new tokens
// after 1,000 or more cached ones: the slow case. When the batch is short of 64 rows and its last prompt chunk follows
// enough cached tokens of its own sequence, those cached tokens are dropped and evaluated again in front of the chunk
// (same tokens, same positions), which fills the tile, if the cost model says that the extra rows' weight work costs
// less than the per-row walk it saves. The re-evaluated tokens no longer count as cached (usage, stats).
// The next n prompt tokens of `s` as batch rows (positions from n_past); the prompt's last token asks for logits.
void DecodeLoop::add_prompt_rows(Slot & s, int32_t n) {
    for (int32_t k = 0; k < n; ++k) {
        const bool last = s.prompt_pos + k + 1 == s.req.prompt.size();
        const int i = batch_add(batch_, s.req.prompt[s.prompt_pos + k], s.n_past + k, s.seq, last);
        if (last) s.batch_idx = i;
    }
}

void DecodeLoop::fill_attention_tile(std::vector<std::pair<Slot *, int32_t>> & chunks) {
    auto & b = batch_;
    if (!tile_fill_ || chunks.empty() || b.n_tokens >= TILE_ROWS) return;
    Slot & s = *chunks.back().first;
    const int32_t n = chunks.back().second;
    const int32_t m = TILE_ROWS - b.n_tokens;
    if (s.n_past < m || s.prompt_pos != (size_t) s.n_past) return;
    if (opt_.tile_fill == TileFill::AUTO) {
        // Cells walked per row (per-row path) and cells of the sequences in the batch (the tiled path's KV tiles).
        double row_cells = 0, seq_cells = 0;
        for (auto & o : slots_) {
            if (!o.active || !o.generating || o.batch_idx < 0) continue;
            row_cells += o.n_past + 1;
            seq_cells += o.n_past + 1;
        }
        for (auto & c : chunks) {
            row_cells += (double) c.second * c.first->n_past + 0.5 * c.second * (c.second + 1);
            seq_cells += c.first->n_past + c.second;
        }
        const double now = b.n_tokens * tile_weight_flops_ + TILE_ROW_COST * tile_attn_flops_ * row_cells;
        const double filled =
            TILE_ROWS * tile_weight_flops_ + TILE_TILED_COST * tile_attn_flops_ * TILE_ROWS * seq_cells;
        if (now <= TILE_MARGIN * filled) return;
    }
    if (!llama_memory_seq_rm(llama_get_memory(ctx_), s.seq, (llama_pos) (s.n_past - m), -1)) return;
    s.n_past -= m;
    s.prompt_pos -= (size_t) m;
    s.cached.resize((size_t) s.n_past);
    const int32_t reused = std::min(s.n_reused, s.n_past);
    {
        std::lock_guard<std::mutex> lk(stats_mu_);
        stats_.cached_tokens -= (double) (s.n_reused - reused);
        stats_.tile_fills += 1;
    }
    s.n_reused = reused;
    // The chunk is the batch's last rows: put it back with the m tokens in front.
    b.n_tokens -= n;
    s.batch_idx = -1;
    add_prompt_rows(s, n + m);
    chunks.back().second = n + m;
}

// Whether a step that already holds a prompt leaves the next waiting one (n rows now) to the next step. A burst of
// prompts evaluated in one step all reach their first token when the whole batch is done; one at a time, the first
// gets it after its own rows, the next one after its rows and a step's own cost, and so on. The next prompt joins
// when the time its rows add to every sequence already waiting for this step (the generating ones and the prompts
// this step completes) is less than the call's own cost that a step of its own would add to it and to every prompt
// still waiting behind it: n_delayed x row cost x n < n_waiting x call cost (their sum of waits is the smaller).
// Row cost: the prompt steps' time per row beyond one call's (EWMA); call cost: the tuner's fewest-row decode call.
// Until both are measured, and with PromptSplit::NEVER, the step takes every prompt the batch holds.
// That rule alone spreads a burst of equal prompts one per step (on the CPU one prompt's rows cost more than a call):
// the median first token comes sooner, but every extra step is one more pass over the weights for the whole burst
// and staggers its ends, so fewer sequences share the last steps (measured: 5-14 % less aggregate throughput at 4
// and 8 concurrent than one step). So under AUTO a step always takes at least half of the waiting prompt rows, and a
// prompt that a split left to the next step goes in there whatever the rule says: a burst takes at most two steps,
// its first half reaching the first token after about half the rows (prompt_split_may_stop).
bool DecodeLoop::prompt_split_may_stop(const Slot & s, int64_t taken_rows, int64_t waiting_rows) const {
    if (opt_.prompt_split != PromptSplit::AUTO) return true;
    return !s.left_once && 2 * taken_rows >= waiting_rows;
}

bool DecodeLoop::prompt_split_stops(int32_t n_rows, int32_t n_waiting, int32_t n_delayed) const {
    if (opt_.prompt_split == PromptSplit::ALWAYS) return true;
    if (opt_.prompt_split == PromptSplit::NEVER) return false;
    const double call_ms = tuner_.least_call_ms();
    if (call_ms <= 0 || prompt_row_ms_ <= 0) return false;
    return (double) n_delayed * prompt_row_ms_ * n_rows >= (double) n_waiting * call_ms;
}

// One decode step: one token for every generating sequence, then prompt chunks up to the batch size.
void DecodeLoop::step() {
    double t_step = now_ms();
    auto & b = batch_;
    b.n_tokens = 0;
    int n_seqs = 0;
    bool prompts_waiting = false;
    for (auto & s : slots_) {
        s.batch_idx = -1;
        if (!s.active) continue;
        if (!s.generating) {
            prompts_waiting = true;
            continue;
        }
        if (s.n_past + 1 > s.limit) {
            finish(s, "length");
            continue;
        }
        s.batch_idx = batch_add(b, s.last, s.n_past, s.seq, true);
        ++n_seqs;
    }
    if (tuner_.split(n_seqs, prompts_waiting)) {
        if (!split_step(t_step) || !prompts_waiting) return;
        // The prompts go in a batch of their own.
        t_step = now_ms();
        b.n_tokens = 0;
        n_seqs = 0;
        for (auto & s : slots_) s.batch_idx = -1;
    }
    std::vector<std::pair<Slot *, int32_t>> chunks;
    int32_t budget = n_batch_ - b.n_tokens;
    if (opt_.kv_unified) budget = std::min(budget, n_ctx_ - used_cells() - b.n_tokens);
    int32_t n_waiting = 0;     // prompts not yet in this step, in order
    int64_t waiting_rows = 0;  // their rows (each at most a batch)
    for (int idx : prompt_order_) {
        const Slot & w = slots_[idx];
        if (!w.active || w.generating) continue;
        ++n_waiting;
        waiting_rows += std::min<int64_t>((int64_t) (w.req.prompt.size() - w.prompt_pos), n_batch_);
    }
    int64_t taken_rows = 0;
    bool split = false;          // this step leaves the rest of the waiting prompts to the next one
    int32_t n_delayed = n_seqs;  // sequences whose next token comes at the end of this step
    for (int idx : std::vector<int>(prompt_order_)) {
        auto & s = slots_[idx];
        if (!s.active || s.generating) continue;
        if (split) {
            s.left_once = true;
            continue;
        }
        if (budget <= 0 || !follow_lead(s)) {
            --n_waiting;
            continue;
        }
        if (opt_.batch_split == BatchSplit::ALWAYS && !chunks.empty()) break;  // one sequence per call
        int32_t left = (int32_t) (s.req.prompt.size() - s.prompt_pos);
        int32_t n = std::min(left, budget);
        if (!chunks.empty() && prompt_split_may_stop(s, taken_rows, waiting_rows) &&
            prompt_split_stops(n, n_waiting, n_delayed)) {
            {
                std::lock_guard<std::mutex> lk(stats_mu_);
                stats_.prompt_splits += 1;
            }
            split = true;
            s.left_once = true;
            continue;
        }
        add_prompt_rows(s, n);
        chunks.push_back({&s, n});
        budget -= n;
        taken_rows += n;
        --n_waiting;
        if (n == left) ++n_delayed;
        ++n_seqs;
    }
    fill_attention_tile(chunks);
    if (b.n_tokens == 0) {
        // Unified cache full with only prompts waiting: end the longest sequence to make room.
        evict_one();
        return;
    }

    double decode_ms = 0;
    const bool pure = chunks.empty();
    const bool reduced = pure ? governor_.reduce(b.n_tokens) : governor_.reduced();
    const int32_t ret = decode_batch(decode_ms, reduced);
    const double t1 = now_ms();
    if (ret == 2 && stopping_) return;
    if (ret == 1) {
        // No KV slot (memory state is restored): free the largest sequence and retry next step.
        evict_one();
        return;
    }
    if (ret != 0) {
        for (auto & s : slots_)
            if (s.active && s.batch_idx >= 0) finish(s, "error", "decode_failed");
        for (auto & c : chunks)
            if (c.first->active) finish(*c.first, "error", "decode_failed");
        return;
    }
    for (auto & c : chunks) {
        auto & p = c.first->req.prompt;
        c.first->cached.insert(c.first->cached.end(), p.begin() + (long) c.first->prompt_pos,
                               p.begin() + (long) (c.first->prompt_pos + c.second));
        c.first->prompt_pos += c.second;
        c.first->n_past += c.second;
    }
    int32_t n_prompt = 0;
    for (auto & c : chunks) n_prompt += c.second;
    if (n_prompt == 0) tuner_.record(b.n_tokens, decode_ms);
    if (n_prompt > 0 && !reduced && tuner_.least_call_ms() > 0) {
        const double row_ms = std::max(0.0, decode_ms - tuner_.least_call_ms()) / b.n_tokens;
        prompt_row_ms_ = prompt_row_ms_ == 0 ? row_ms : 0.8 * prompt_row_ms_ + 0.2 * row_ms;
    }
    if (pure) governor_.record(b.n_tokens, decode_ms, reduced);
    count_threads(reduced, 1);

    // Sample every sequence that produced logits this step.
    int32_t n_sampled = 0;
    for (auto & s : slots_) {
        if (!s.active || s.batch_idx < 0) continue;
        if (s.generating) {
            s.n_past += 1;
            s.cached.push_back(s.last);
        } else if (s.prompt_pos < s.req.prompt.size()) {
            continue;  // mid-prompt chunk: no logits yet
        }
        take_token(s, llama_get_logits_ith(ctx_, s.batch_idx));
        ++n_sampled;
    }
    record_step(t_step, t1, decode_ms, 1, b.n_tokens, n_prompt, n_sampled, n_seqs, false);
}

// The generating sequences of a step, one one-token llama_decode each, sampled as each call returns. False when
// the step must end here (stopping, or the KV cache was full).
bool DecodeLoop::split_step(double t_step) {
    auto & b = batch_;
    double decode_total = 0, sample_ms = 0;
    int32_t calls = 0, n_sampled = 0, n_seqs = 0;
    bool ok = true;
    for (auto & s : slots_) {
        if (!s.active || !s.generating || s.batch_idx < 0) continue;
        ++n_seqs;
        b.n_tokens = 0;
        batch_add(b, s.last, s.n_past, s.seq, true);
        double ms = 0;
        const bool reduced = governor_.reduce(1);
        const int32_t ret = decode_batch(ms, reduced);
        if (ret == 2 && stopping_) {
            ok = false;
            break;
        }
        if (ret == 1) {
            evict_one();
            ok = false;
            break;
        }
        if (ret != 0) {
            finish(s, "error", "decode_failed");
            continue;
        }
        decode_total += ms;
        ++calls;
        tuner_.record(1, ms);
        governor_.record(1, ms, reduced);
        count_threads(reduced, 1);
        s.n_past += 1;
        s.cached.push_back(s.last);
        const double ts = now_ms();
        take_token(s, llama_get_logits_ith(ctx_, 0));
        sample_ms += now_ms() - ts;
        ++n_sampled;
    }
    // Attributed as if one batched call: decode first, then all sampling.
    if (calls > 0) record_step(t_step, now_ms() - sample_ms, decode_total, calls, calls, 0, n_sampled, n_seqs, true);
    return ok;
}

// Samples the slot's next token from `logits`, streams its text, and ends the sequence when it is done.
void DecodeLoop::take_token(Slot & s, const float * logits) {
    llama_token t = s.sampler->sample(logits, s.req.max_tokens - s.n_gen);
    const double t_tok = now_ms();
    if (!s.generating) {
        s.generating = true;
        s.t_prompt_done = t_tok;
    }
    // t < 0: the grammar allows no token (it is complete and the vocabulary has no end-of-generation token).
    if (t < 0 || (!s.req.ignore_eos && llama_vocab_is_eog(model_->vocab, t))) {
        finish(s, "stop");
        return;
    }
    if (s.sampler->wants_logprobs()) record_logprob(s);
    s.sampler->accept_generated(t);
    s.last = t;
    s.n_gen += 1;
    if (s.req.want_tokens) s.generated.push_back(t);
    s.token_times.push_back(t_tok);
    char piece[256];
    int32_t n = llama_token_to_piece(model_->vocab, t, piece, sizeof(piece), 0, false);
    if (n > 0 && s.text->push(piece, (size_t) n)) {
        finish(s, "stop");
        return;
    }
    if (s.n_gen >= s.req.max_tokens) {
        finish(s, "length");
        return;
    }
    if (!s.req.stream) return;
    std::string ready = s.text->take_ready();
    if (!ready.empty()) {
        // A request's first text goes out at once (time to first token); later text may wait for the flush.
        if (!s.sent_text) urgent_ = true;
        s.sent_text = true;
        Event e(Event::TEXT);
        e.id = s.req.id;
        e.text = std::move(ready);
        e.logprobs = std::move(s.logprobs);
        s.logprobs.clear();
        emit(std::move(e));
    }
}

void DecodeLoop::count_threads(bool reduced, int32_t calls) {
    std::lock_guard<std::mutex> lk(stats_mu_);
    if (reduced) stats_.reduced_calls += calls;
    stats_.contention_events = (double) governor_.contention_events();
}

static std::string piece_of(const llama_vocab * vocab, llama_token t) {
    char buf[256];
    int32_t n = llama_token_to_piece(vocab, t, buf, sizeof(buf), 0, true);
    return std::string(buf, n > 0 ? (size_t) n : 0);
}

void DecodeLoop::record_logprob(Slot & s) {
    const auto & lp = s.sampler->last_logprob();
    LogprobOut o;
    o.text = piece_of(model_->vocab, lp.id);
    o.logprob = lp.logprob;
    for (auto & e : lp.top) o.top.emplace_back(piece_of(model_->vocab, e.first), e.second);
    s.logprobs.push_back(std::move(o));
}

// `t1` is when decoding ended and sampling began.
void DecodeLoop::record_step(double t_step, double t1, double decode_ms, int32_t decode_calls, int32_t n_tokens,
                            int32_t n_prompt, int32_t n_sampled, int32_t n_seqs, bool split) {
    const double t2 = now_ms();
    std::lock_guard<std::mutex> lk(stats_mu_);
    stats_.decode_ms += decode_ms;
    stats_.busy_ms += t2 - t_step;
    stats_.sample_ms += t2 - t1;
    stats_.decode_calls += decode_calls;
    stats_.decode_steps += 1;
    if (split || n_tokens == 1) {
        stats_.single_decode_ms += decode_ms;
        stats_.single_decode_calls += decode_calls;
    }
    if (split) stats_.split_steps += 1;
    stats_.batch_tokens += n_tokens;
    stats_.generated += n_sampled;
    stats_.prompt_tokens += n_prompt;
    stats_.max_batch_seqs = std::max<double>(stats_.max_batch_seqs, n_seqs);
    stats_.perf = llama_perf_context(ctx_);
}

}  // namespace rfx
