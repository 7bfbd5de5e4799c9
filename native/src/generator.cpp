// The JS-facing Generator: option and request parsing, event delivery through one ThreadSafeFunction, lifetime.
#include "generator.h"

#include <algorithm>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "model.h"

namespace rfx {

static std::mutex g_live_mu;
static std::unordered_set<Generator *> g_live;

// Called once per env at teardown: every loop thread must be gone before llama.cpp's statics are destroyed.
void shutdown_all_generators() {
    std::vector<Generator *> live;
    {
        std::lock_guard<std::mutex> lk(g_live_mu);
        live.assign(g_live.begin(), g_live.end());
    }
    for (auto * g : live) g->shutdown_blocking();
}

Napi::Function Generator::Define(Napi::Env env) {
    return DefineClass(env, "Generator",
                       {
                           InstanceMethod("submit", &Generator::Submit),
                           InstanceMethod("cancel", &Generator::Cancel),
                           InstanceMethod("holdAdmission", &Generator::HoldAdmission),
                           InstanceMethod("close", &Generator::Close),
                           InstanceMethod("stats", &Generator::Stats),
                           InstanceMethod("resetStats", &Generator::ResetStats),
                           InstanceMethod("activeCount", &Generator::ActiveCount),
                       });
}

// Options JS always passes are required here, so no default is restated on this side of the binding.
static double required_number(Napi::Env env, const Napi::Object & o, const char * k) {
    if (!o.Has(k) || !o.Get(k).IsNumber()) throw Napi::TypeError::New(env, std::string(k) + " is required (a number)");
    return o.Get(k).As<Napi::Number>().DoubleValue();
}

static uint32_t required_u32(Napi::Env env, const Napi::Object & o, const char * k) {
    if (!o.Has(k) || !o.Get(k).IsNumber()) throw Napi::TypeError::New(env, std::string(k) + " is required (a number)");
    return o.Get(k).As<Napi::Number>().Uint32Value();
}

// An "auto" | "never" | "always" option (batchSplit, tileFill, promptSplit) as its enum.
template <class Mode>
static Mode required_mode(Napi::Env env, const Napi::Object & o, const char * k) {
    const std::string v = o.Has(k) && o.Get(k).IsString() ? o.Get(k).As<Napi::String>().Utf8Value() : "";
    if (v == "never") return Mode::NEVER;
    if (v == "always") return Mode::ALWAYS;
    if (v == "auto") return Mode::AUTO;
    throw Napi::TypeError::New(env, std::string(k) + " must be \"auto\", \"never\" or \"always\"");
}

// new Generator(model, {contextSize, parallel, batchSize, ubatchSize, threads, poll, kvUnified, prefixCache, adaptiveThreads,
//               batchSplit, tileFill, promptSplit,
//               flushIntervalMs},
//               onEvents)
Generator::Generator(const Napi::CallbackInfo & info) : Napi::ObjectWrap<Generator>(info) {
    auto env = info.Env();
    if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsFunction()) {
        throw Napi::TypeError::New(env, "Generator(model, options, onEvents)");
    }
    auto * m = Model::Unwrap(info[0].As<Napi::Object>());
    ModelRef model = m->ref();
    if (!model) throw Napi::Error::New(env, "model is disposed");
    auto o = info[1].As<Napi::Object>();
    LoopOptions opt;
    opt.n_ctx = required_u32(env, o, "contextSize");
    opt.n_seq = std::max<uint32_t>(1, required_u32(env, o, "parallel"));
    opt.n_batch = std::max<uint32_t>(opt.n_seq, required_u32(env, o, "batchSize"));
    // ubatchSize is a native-only tuning knob: without it the micro-batch is the whole batch, as llama.cpp's is
    // for batches up to its own 512 default.
    opt.n_ubatch = o.Has("ubatchSize") ? std::min(opt.n_batch, std::max<uint32_t>(1, required_u32(env, o, "ubatchSize")))
                                       : std::min<uint32_t>(opt.n_batch, 512);
    opt.n_threads = (int32_t) std::max<uint32_t>(1, required_u32(env, o, "threads"));
    opt.poll = std::min<uint32_t>(100, required_u32(env, o, "poll"));
    if (!o.Has("kvUnified") || !o.Get("kvUnified").IsBoolean()) throw Napi::TypeError::New(env, "kvUnified is required (a boolean)");
    opt.kv_unified = o.Get("kvUnified").As<Napi::Boolean>().Value();
    if (!o.Has("prefixCache") || !o.Get("prefixCache").IsBoolean()) throw Napi::TypeError::New(env, "prefixCache is required (a boolean)");
    opt.prefix_cache = o.Get("prefixCache").As<Napi::Boolean>().Value();
    if (!o.Has("adaptiveThreads") || !o.Get("adaptiveThreads").IsBoolean()) throw Napi::TypeError::New(env, "adaptiveThreads is required (a boolean)");
    opt.adapt_threads = o.Get("adaptiveThreads").As<Napi::Boolean>().Value();
    opt.batch_split = required_mode<BatchSplit>(env, o, "batchSplit");
    opt.tile_fill = required_mode<TileFill>(env, o, "tileFill");
    opt.prompt_split = required_mode<PromptSplit>(env, o, "promptSplit");
    opt.flush_ms = required_number(env, o, "flushIntervalMs");

    tsfn_ = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "rfx.generator", 0, 1);
    holds_ = 1;  // until READY/FATAL: a caller awaiting readiness must not see the process exit under it
    Ref();       // the JS object lives until CLOSED, whatever JS does with its handle
    {
        std::lock_guard<std::mutex> lk(g_live_mu);
        g_live.insert(this);
    }
    // The loop's last act releases the tsfn: CLOSED is then the last call JS receives.
    loop_ = std::make_unique<DecodeLoop>(std::move(model), opt, [this]() { wake(); }, [this]() { tsfn_.Release(); });
    loop_->start();
}

Generator::~Generator() {
    shutdown_blocking();
    std::lock_guard<std::mutex> lk(g_live_mu);
    g_live.erase(this);
}

void Generator::shutdown_blocking() {
    if (loop_) loop_->stop_and_join();
}

void Generator::hold(Napi::Env env) {
    if (closed_) return;
    if (holds_++ == 0) tsfn_.Ref(env);
}

void Generator::release(Napi::Env env) {
    if (closed_) return;
    if (holds_ > 0 && --holds_ == 0) tsfn_.Unref(env);
}

static SamplingParams read_sampling(Napi::Env env, const Napi::Object & o) {
    SamplingParams p;
    p.temperature = (float) required_number(env, o, "temperature");
    p.top_p = (float) required_number(env, o, "topP");
    p.top_k = (int32_t) required_number(env, o, "topK");
    p.seed = (uint32_t) (int64_t) required_number(env, o, "seed");
    p.repeat_penalty = (float) required_number(env, o, "repeatPenalty");
    p.repeat_last_n = (int32_t) required_number(env, o, "repeatLastN");
    if (o.Has("frequencyPenalty")) p.penalty_freq = (float) required_number(env, o, "frequencyPenalty");
    if (o.Has("presencePenalty")) p.penalty_present = (float) required_number(env, o, "presencePenalty");
    // [token, bias, token, bias, ...]; JS checked the ids against the vocabulary (the sampler drops any outside it).
    if (o.Has("logitBias") && o.Get("logitBias").IsArray()) {
        auto a = o.Get("logitBias").As<Napi::Array>();
        for (uint32_t i = 0; i + 1 < a.Length(); i += 2)
            p.logit_bias.push_back({a.Get(i).As<Napi::Number>().Int32Value(),
                                    (float) a.Get(i + 1).As<Napi::Number>().DoubleValue()});
    }
    // Optional: structured output and log-probabilities (JS validates the grammar before submitting).
    if (o.Has("grammar") && o.Get("grammar").IsString()) p.grammar = o.Get("grammar").As<Napi::String>().Utf8Value();
    if (o.Has("grammarCloseJson")) p.grammar_close_json = o.Get("grammarCloseJson").ToBoolean().Value();
    if (o.Has("grammarRoot") && o.Get("grammarRoot").IsString())
        p.grammar_root = o.Get("grammarRoot").As<Napi::String>().Utf8Value();
    if (o.Has("grammarTriggers") && o.Get("grammarTriggers").IsArray()) {
        auto a = o.Get("grammarTriggers").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i) p.grammar_triggers.push_back(a.Get(i).As<Napi::String>().Utf8Value());
        p.grammar_lazy = true;
    }
    if (o.Has("grammarTriggerWords") && o.Get("grammarTriggerWords").IsArray()) {
        auto a = o.Get("grammarTriggerWords").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i)
            p.grammar_trigger_words.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    }
    if (o.Has("logprobs") && o.Get("logprobs").IsNumber())
        p.n_logprobs = std::min(20, o.Get("logprobs").As<Napi::Number>().Int32Value());
    return p;
}

// submit(id, Int32Array prompt, {maxTokens, temperature, topP, topK, seed, repeatPenalty, repeatLastN, stop, ignoreEos, stream,
//                                contextLimit, wantTokens, reusePrefix})
Napi::Value Generator::Submit(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    if (close_requested_) throw Napi::Error::New(env, "generator is closed");
    Request r;
    r.id = info[0].As<Napi::Number>().DoubleValue();
    auto toks = info[1].As<Napi::Int32Array>();
    r.prompt.assign(toks.Data(), toks.Data() + toks.ElementLength());
    auto o = info[2].As<Napi::Object>();
    r.sampling = read_sampling(env, o);
    r.max_tokens = (int32_t) required_number(env, o, "maxTokens");
    if (o.Has("ignoreEos")) r.ignore_eos = o.Get("ignoreEos").ToBoolean();
    if (o.Has("stream")) r.stream = o.Get("stream").ToBoolean();
    if (o.Has("contextLimit") && o.Get("contextLimit").IsNumber())
        r.n_ctx_limit = std::max(0, (int32_t) o.Get("contextLimit").As<Napi::Number>().Int32Value());
    if (o.Has("wantTokens")) r.want_tokens = o.Get("wantTokens").ToBoolean();
    if (o.Has("reusePrefix")) r.reuse_prefix = o.Get("reusePrefix").ToBoolean();
    if (o.Has("stop") && o.Get("stop").IsArray()) {
        auto a = o.Get("stop").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i) {
            std::string s = a.Get(i).As<Napi::String>();
            if (!s.empty()) r.stops.push_back(s);
        }
    }
    r.t_submit = now_ms();
    hold(env);
    loop_->submit(std::move(r));
    return env.Undefined();
}

// holdAdmission(on): submissions made while held are admitted together when it is released.
Napi::Value Generator::HoldAdmission(const Napi::CallbackInfo & info) {
    loop_->hold_admission(info[0].ToBoolean().Value());
    return info.Env().Undefined();
}

Napi::Value Generator::Cancel(const Napi::CallbackInfo & info) {
    loop_->cancel(info[0].As<Napi::Number>().DoubleValue());
    return info.Env().Undefined();
}

// close(): every queued and running request ends "cancelled", then CLOSED arrives and the context is freed.
Napi::Value Generator::Close(const Napi::CallbackInfo & info) {
    if (!close_requested_) {
        close_requested_ = true;
        hold(info.Env());
        loop_->request_stop();
    }
    return info.Env().Undefined();
}

Napi::Value Generator::Stats(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    const GeneratorStats s = loop_->stats();
    auto o = Napi::Object::New(env);
    o.Set("decodeMs", s.decode_ms);
    o.Set("busyMs", s.busy_ms);
    o.Set("sampleMs", s.sample_ms);
    o.Set("decodeCalls", s.decode_calls);
    o.Set("decodeSteps", s.decode_steps);
    o.Set("singleTokenDecodeMs", s.single_decode_ms);
    o.Set("singleTokenDecodeCalls", s.single_decode_calls);
    o.Set("batchTokens", s.batch_tokens);
    o.Set("generatedTokens", s.generated);
    o.Set("promptTokens", s.prompt_tokens);
    o.Set("cachedPromptTokens", s.cached_tokens);
    o.Set("prefixCacheEvictions", s.cache_evictions);
    o.Set("sharedPrefixes", s.shared_prefixes);
    o.Set("maxBatchSequences", s.max_batch_seqs);
    o.Set("splitSteps", s.split_steps);
    o.Set("reducedThreadCalls", s.reduced_calls);
    o.Set("contentionEvents", s.contention_events);
    o.Set("tileFills", s.tile_fills);
    o.Set("promptSplits", s.prompt_splits);
    o.Set("poolResets", s.pool_resets);
    o.Set("cacheParks", s.cache_parks);
    o.Set("cacheRestores", s.cache_restores);
    // llama.cpp's own accounting: single-token decodes in "eval", multi-token batches in "promptEval".
    o.Set("llamaEvalMs", s.perf.t_eval_ms);
    o.Set("llamaEvalCount", s.perf.n_eval);
    o.Set("llamaPromptEvalMs", s.perf.t_p_eval_ms);
    o.Set("llamaPromptEvalTokens", s.perf.n_p_eval);
    o.Set("llamaGraphsReused", s.perf.n_reused);
    return o;
}

Napi::Value Generator::ResetStats(const Napi::CallbackInfo & info) {
    loop_->reset_stats();
    return info.Env().Undefined();
}

Napi::Value Generator::ActiveCount(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), loop_->active_count());
}

// ---- event delivery -------------------------------------------------------------------------------------------

// Runs on the loop thread: at most one JS call is queued at a time; it takes every event waiting by then.
void Generator::wake() {
    if (call_pending_.exchange(true)) return;
    auto status = tsfn_.NonBlockingCall([this](Napi::Env env, Napi::Function fn) { drain(env, fn); });
    if (status != napi_ok) call_pending_ = false;
}

void Generator::drain(Napi::Env env, Napi::Function fn) {
    call_pending_ = false;
    std::vector<Event> events = loop_->take_events();
    if (events.empty() || env == nullptr) return;
    auto arr = Napi::Array::New(env, events.size());
    // CLOSED means the loop thread has released the tsfn: no Ref/Unref on it in this batch or later.
    bool closed = false;
    for (auto & e : events)
        if (e.kind == Event::CLOSED) closed = true;
    if (closed) closed_ = true;
    for (size_t i = 0; i < events.size(); ++i) {
        auto & e = events[i];
        auto o = Napi::Object::New(env);
        static const char * kinds[] = {"ready", "text", "done", "fatal", "closed"};
        o.Set("kind", kinds[e.kind]);
        o.Set("id", e.id);
        if (!e.text.empty()) o.Set("text", e.text);
        if (!e.error.empty()) o.Set("error", e.error);
        if (!e.logprobs.empty()) {
            auto lps = Napi::Array::New(env, e.logprobs.size());
            for (size_t j = 0; j < e.logprobs.size(); ++j) {
                auto & l = e.logprobs[j];
                auto lo = Napi::Object::New(env);
                // `text` is read as UTF-8 (a token holding part of a character shows U+FFFD there); `bytes` are the
                // token's own, from which a client rebuilds characters split across tokens.
                lo.Set("text", l.text);
                lo.Set("bytes", Napi::Buffer<uint8_t>::Copy(env, (const uint8_t *) l.text.data(), l.text.size()));
                lo.Set("logprob", l.logprob);
                auto top = Napi::Array::New(env, l.top.size());
                for (size_t k = 0; k < l.top.size(); ++k) {
                    auto to = Napi::Object::New(env);
                    to.Set("text", l.top[k].first);
                    to.Set("bytes", Napi::Buffer<uint8_t>::Copy(env, (const uint8_t *) l.top[k].first.data(),
                                                                 l.top[k].first.size()));
                    to.Set("logprob", l.top[k].second);
                    top.Set(k, to);
                }
                lo.Set("top", top);
                lps.Set(j, lo);
            }
            o.Set("logprobs", lps);
        }
        if (e.kind == Event::READY) {
            o.Set("contextSize", (double) e.context_size);
            o.Set("sequenceContextSize", (double) e.sequence_context_size);
            o.Set("batchSize", (double) e.batch_size);
            release(env);
        } else if (e.kind == Event::FATAL) {
            release(env);
        } else if (e.kind == Event::DONE) {
            o.Set("finish", e.finish);
            o.Set("promptTokens", e.prompt_tokens);
            o.Set("cachedTokens", e.cached_tokens);
            o.Set("completionTokens", e.completion_tokens);
            if (!e.tokens.empty()) {
                auto ids = Napi::Int32Array::New(env, e.tokens.size());
                std::copy(e.tokens.begin(), e.tokens.end(), ids.Data());
                o.Set("tokens", ids);
            }
            o.Set("tSubmit", e.t_submit);
            o.Set("tAdmit", e.t_admit);
            o.Set("tPromptDone", e.t_prompt_done);
            o.Set("tEnd", e.t_end);
            auto tt = Napi::Float64Array::New(env, e.token_times.size());
            std::copy(e.token_times.begin(), e.token_times.end(), tt.Data());
            o.Set("tokenTimes", tt);
            release(env);
        }
        arr.Set(i, o);
    }
    if (closed) loop_->stop_and_join();  // its thread has nothing left to do but return
    try {
        fn.Call({arr});
    } catch (const Napi::Error & e) {
        // A throwing JS handler must not unwind through libuv; Node reports it as an uncaught exception.
        e.ThrowAsJavaScriptException();
    }
    if (closed) Unref();  // last touch of `this`: the wrapper may be collected from here on
}

}  // namespace rfx
