// Embedding runs on the libuv pool: one sequence per text, pooled by llama.cpp (mean), normalised here.
#include "embedder.h"

#include <cmath>
#include <vector>

#include "model.h"

namespace rfx {

Napi::Function Embedder::Define(Napi::Env env) {
    return DefineClass(env, "Embedder",
                       {
                           InstanceMethod("embed", &Embedder::Embed),
                           InstanceMethod("close", &Embedder::Close),
                           InstanceMethod("contextSize", &Embedder::ContextSize),
                       });
}

// new Embedder(model, {contextSize, threads, poll})
Embedder::Embedder(const Napi::CallbackInfo & info) : Napi::ObjectWrap<Embedder>(info) {
    state_ = open_solo_context(info, "Embedder(model, options)", "embedding", [](llama_context_params & cp, const RequiredNumber &) {
        // Pooling needs a whole text in one ubatch.
        cp.n_batch = cp.n_ctx;
        cp.n_ubatch = cp.n_ctx;
        cp.embeddings = true;
        cp.pooling_type = LLAMA_POOLING_TYPE_MEAN;
    });
}

Embedder::~Embedder() = default;

Napi::Value Embedder::ContextSize(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), state_ ? state_->n_ctx : 0);
}

// embed(Int32Array[]) -> Promise<Float32Array[]>
Napi::Value Embedder::Embed(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    if (!state_) throw Napi::Error::New(env, "embedder is closed");
    auto arr = info[0].As<Napi::Array>();
    auto inputs = std::make_shared<std::vector<std::vector<llama_token>>>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
        auto t = arr.Get(i).As<Napi::Int32Array>();
        inputs->emplace_back(t.Data(), t.Data() + t.ElementLength());
    }
    auto st = state_;
    auto outputs = std::make_shared<std::vector<std::vector<float>>>();
    return PromiseWorker::Run(
        env, "rfx.embed",
        [st, inputs, outputs]() {
            NativeWorkGuard guard;
            std::lock_guard<std::mutex> lk(st->mu);
            if (!st->ctx) throw std::runtime_error("embedder is closed");
            const int32_t n_embd = llama_model_n_embd(st->model->model);
            llama_batch batch = llama_batch_init(st->n_ctx, 0, 1);
            try {
                for (auto & toks : *inputs) {
                    if ((int32_t) toks.size() > st->n_ctx || toks.empty()) throw std::runtime_error("context_overflow");
                    llama_memory_clear(llama_get_memory(st->ctx), true);
                    batch.n_tokens = 0;
                    for (size_t i = 0; i < toks.size(); ++i) {
                        batch.token[i] = toks[i];
                        batch.pos[i] = (llama_pos) i;
                        batch.n_seq_id[i] = 1;
                        batch.seq_id[i][0] = 0;
                        batch.logits[i] = true;
                    }
                    batch.n_tokens = (int32_t) toks.size();
                    int32_t ret;
                    {
                        std::lock_guard<FairLock> turn(decode_lock());
                        ret = llama_decode(st->ctx, batch);
                    }
                    if (ret != 0) throw std::runtime_error("llama_decode failed while embedding");
                    if (!st->exit_stop_registered.exchange(true)) register_exit_stop();
                    const float * e = llama_get_embeddings_seq(st->ctx, 0);
                    if (!e) throw std::runtime_error("no pooled embedding returned");
                    std::vector<float> v(e, e + n_embd);
                    double norm = 0;
                    for (float x : v) norm += (double) x * x;
                    norm = std::sqrt(norm);
                    if (norm > 0)
                        for (auto & x : v) x = (float) (x / norm);
                    outputs->push_back(std::move(v));
                }
            } catch (...) {
                llama_batch_free(batch);
                throw;
            }
            llama_batch_free(batch);
        },
        [outputs](Napi::Env env) -> Napi::Value {
            auto out = Napi::Array::New(env, outputs->size());
            for (size_t i = 0; i < outputs->size(); ++i) {
                auto & v = (*outputs)[i];
                auto f = Napi::Float32Array::New(env, v.size());
                std::copy(v.begin(), v.end(), f.Data());
                out.Set(i, f);
            }
            return out;
        });
}

Napi::Value Embedder::Close(const Napi::CallbackInfo & info) {
    state_.reset();
    return info.Env().Undefined();
}

}  // namespace rfx
