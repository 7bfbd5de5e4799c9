// Evaluation runs on the libuv pool: one sequence from position 0 on an empty KV cache, logits kept for every token.
#include "evaluator.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "model.h"

namespace rfx {

Napi::Function Evaluator::Define(Napi::Env env) {
    return DefineClass(env, "Evaluator",
                       {
                           InstanceMethod("evaluate", &Evaluator::Evaluate),
                           InstanceMethod("close", &Evaluator::Close),
                           InstanceMethod("contextSize", &Evaluator::ContextSize),
                       });
}

// new Evaluator(model, {contextSize, batchSize, threads, poll})
Evaluator::Evaluator(const Napi::CallbackInfo & info) : Napi::ObjectWrap<Evaluator>(info) {
    state_ = open_solo_context(info, "Evaluator(model, options)", "evaluation", [](llama_context_params & cp, const RequiredNumber & u32) {
        const uint32_t n_batch = std::max<uint32_t>(1, std::min(u32("batchSize"), cp.n_ctx));
        cp.n_batch = n_batch;
        cp.n_ubatch = n_batch;
        cp.embeddings = false;
    });
}

Evaluator::~Evaluator() = default;

Napi::Value Evaluator::ContextSize(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), state_ ? state_->n_ctx : 0);
}

// evaluate(Int32Array tokens) -> Promise<Float32Array> of tokens.length × n_vocab logits, row i predicting token i+1.
Napi::Value Evaluator::Evaluate(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    if (!state_) throw Napi::Error::New(env, "evaluator is closed");
    if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "evaluate(Int32Array)");
    auto t = info[0].As<Napi::Int32Array>();
    auto tokens = std::make_shared<std::vector<llama_token>>(t.Data(), t.Data() + t.ElementLength());
    auto st = state_;
    const int32_t n_vocab = llama_vocab_n_tokens(st->model->vocab);
    for (llama_token tok : *tokens)
        if (tok < 0 || tok >= n_vocab) throw Napi::RangeError::New(env, "token id out of the vocabulary");
    if (tokens->empty() || (int32_t) tokens->size() > st->n_ctx)
        throw Napi::RangeError::New(env, "context_overflow: 1 to contextSize tokens");
    auto logits = std::make_shared<std::vector<float>>();
    return PromiseWorker::Run(
        env, "rfx.evaluate",
        [st, tokens, logits, n_vocab]() {
            NativeWorkGuard guard;
            std::lock_guard<std::mutex> lk(st->mu);
            if (!st->ctx) throw std::runtime_error("evaluator is closed");
            const int32_t n = (int32_t) tokens->size();
            logits->resize((size_t) n * n_vocab);
            llama_memory_clear(llama_get_memory(st->ctx), true);
            llama_batch batch = llama_batch_init(st->n_batch, 0, 1);
            try {
                for (int32_t start = 0; start < n; start += st->n_batch) {
                    const int32_t len = std::min(st->n_batch, n - start);
                    batch.n_tokens = 0;
                    for (int32_t i = 0; i < len; ++i) {
                        batch.token[i] = (*tokens)[start + i];
                        batch.pos[i] = (llama_pos) (start + i);
                        batch.n_seq_id[i] = 1;
                        batch.seq_id[i][0] = 0;
                        batch.logits[i] = true;
                    }
                    batch.n_tokens = len;
                    int32_t ret;
                    {
                        std::lock_guard<FairLock> turn(decode_lock());
                        ret = llama_decode(st->ctx, batch);
                    }
                    if (ret != 0) throw std::runtime_error("llama_decode failed while evaluating");
                    if (!st->exit_stop_registered.exchange(true)) register_exit_stop();
                    const float * l = llama_get_logits(st->ctx);
                    if (!l) throw std::runtime_error("no logits returned");
                    std::memcpy(logits->data() + (size_t) start * n_vocab, l, sizeof(float) * (size_t) len * n_vocab);
                }
            } catch (...) {
                llama_batch_free(batch);
                throw;
            }
            llama_batch_free(batch);
        },
        [logits](Napi::Env env) -> Napi::Value {
            auto f = Napi::Float32Array::New(env, logits->size());
            std::copy(logits->begin(), logits->end(), f.Data());
            return f;
        });
}

Napi::Value Evaluator::Close(const Napi::CallbackInfo & info) {
    state_.reset();
    return info.Env().Undefined();
}

}  // namespace rfx
