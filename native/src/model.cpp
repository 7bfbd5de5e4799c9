// Model loading off the JS thread, and the synchronous tokenizer / metadata / chat-template calls.
#include "model.h"

#include <vector>

namespace rfx {

Napi::FunctionReference * Model::constructor = nullptr;

Napi::Function Model::Define(Napi::Env env) {
    auto fn = DefineClass(env, "Model",
                          {
                              InstanceMethod("info", &Model::Info),
                              InstanceMethod("meta", &Model::Meta),
                              InstanceMethod("tokenize", &Model::Tokenize),
                              InstanceMethod("detokenize", &Model::Detokenize),
                              InstanceMethod("chatTemplate", &Model::ChatTemplate),
                              InstanceMethod("applyChatTemplate", &Model::ApplyChatTemplate),
                              InstanceMethod("dispose", &Model::Dispose),
                          });
    constructor = new Napi::FunctionReference(Napi::Persistent(fn));
    return fn;
}

// new Model(external) is only called from Load(); the external carries the loaded holder.
Model::Model(const Napi::CallbackInfo & info) : Napi::ObjectWrap<Model>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) {
        Napi::TypeError::New(info.Env(), "Model is created by loadModel()").ThrowAsJavaScriptException();
        return;
    }
    auto * holder = info[0].As<Napi::External<ModelRef>>().Data();
    model_ = *holder;
}

// loadModel(path, {useMmap}) -> Promise<Model>
Napi::Value Model::Load(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    std::string path = info[0].As<Napi::String>();
    bool use_mmap = true;
    if (info.Length() > 1 && info[1].IsObject()) {
        auto o = info[1].As<Napi::Object>();
        if (o.Has("useMmap")) use_mmap = o.Get("useMmap").ToBoolean();
    }
    auto result = std::make_shared<ModelRef>();
    return PromiseWorker::Run(
        env, "rfx.loadModel",
        [path, use_mmap, result]() {
            NativeWorkGuard guard;
            clear_llama_error();
            auto mp = llama_model_default_params();
            mp.n_gpu_layers = 0;
            mp.load_mode = use_mmap ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
            llama_model * m = llama_model_load_from_file(path.c_str(), mp);
            if (!m) {
                std::string why = last_llama_error();
                throw std::runtime_error(why.empty() ? "llama.cpp could not load the model" : why);
            }
            auto h = std::make_shared<ModelHolder>();
            h->model = m;
            h->vocab = llama_model_get_vocab(m);
            *result = h;
        },
        [result](Napi::Env env) -> Napi::Value {
            auto ext = Napi::External<ModelRef>::New(env, result.get());
            return constructor->New({ext});
        });
}

const ModelHolder & Model::live(Napi::Env env) const {
    if (!model_) throw Napi::Error::New(env, "model is disposed");
    return *model_;
}

static std::string meta_str(const llama_model * m, const char * key) {
    char buf[512];
    int32_t n = llama_model_meta_val_str(m, key, buf, sizeof(buf));
    if (n < 0) return {};
    if ((size_t) n >= sizeof(buf)) {
        std::vector<char> big(n + 1);
        llama_model_meta_val_str(m, key, big.data(), big.size());
        return std::string(big.data(), n);
    }
    return std::string(buf, n);
}

Napi::Value Model::Info(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    const auto & h = live(env);
    auto o = Napi::Object::New(env);
    char desc[256];
    llama_model_desc(h.model, desc, sizeof(desc));
    o.Set("description", std::string(desc));
    o.Set("architecture", meta_str(h.model, "general.architecture"));
    std::string ft = meta_str(h.model, "general.file_type");
    o.Set("fileType", ft.empty() ? Napi::Value(env.Null()) : Napi::Number::New(env, std::stod(ft)));
    o.Set("parameterCount", (double) llama_model_n_params(h.model));
    o.Set("tensorBytes", (double) llama_model_size(h.model));
    o.Set("trainContextSize", llama_model_n_ctx_train(h.model));
    o.Set("embeddingSize", llama_model_n_embd(h.model));
    o.Set("layers", llama_model_n_layer(h.model));
    o.Set("vocabSize", llama_vocab_n_tokens(h.vocab));
    o.Set("bos", llama_vocab_bos(h.vocab));
    o.Set("eos", llama_vocab_eos(h.vocab));
    o.Set("addBos", llama_vocab_get_add_bos(h.vocab));
    return o;
}

Napi::Value Model::Meta(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    const auto & h = live(env);
    std::string key = info[0].As<Napi::String>();
    char probe[1];
    if (llama_model_meta_val_str(h.model, key.c_str(), probe, 1) < 0) return env.Null();
    return Napi::String::New(env, meta_str(h.model, key.c_str()));
}

// tokenize(text, addSpecial, parseSpecial) -> Int32Array
Napi::Value Model::Tokenize(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    const auto & h = live(env);
    std::string text = info[0].As<Napi::String>();
    bool add_special = info.Length() > 1 && info[1].ToBoolean();
    bool parse_special = info.Length() > 2 && info[2].ToBoolean();
    // A token never covers less than one byte, so bytes + 2 (BOS/EOS) always suffices.
    std::vector<llama_token> toks(text.size() + 2);
    int32_t n = llama_tokenize(h.vocab, text.data(), (int32_t) text.size(), toks.data(), (int32_t) toks.size(),
                               add_special, parse_special);
    if (n < 0) {
        toks.resize(-n);
        n = llama_tokenize(h.vocab, text.data(), (int32_t) text.size(), toks.data(), (int32_t) toks.size(),
                           add_special, parse_special);
    }
    if (n < 0) throw Napi::Error::New(env, "tokenization failed");
    auto arr = Napi::Int32Array::New(env, n);
    std::copy(toks.begin(), toks.begin() + n, arr.Data());
    return arr;
}

// detokenize(Int32Array, removeSpecial, unparseSpecial) -> string
Napi::Value Model::Detokenize(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    const auto & h = live(env);
    auto arr = info[0].As<Napi::Int32Array>();
    bool remove_special = info.Length() > 1 && info[1].ToBoolean();
    bool unparse_special = info.Length() > 2 && info[2].ToBoolean();
    int32_t n_vocab = llama_vocab_n_tokens(h.vocab);
    for (size_t i = 0; i < arr.ElementLength(); ++i) {
        if (arr[i] < 0 || arr[i] >= n_vocab) throw Napi::RangeError::New(env, "token id out of range");
    }
    std::string out(arr.ElementLength() * 8 + 16, '\0');
    int32_t n = llama_detokenize(h.vocab, arr.Data(), (int32_t) arr.ElementLength(), out.data(), (int32_t) out.size(),
                                 remove_special, unparse_special);
    if (n < 0) {
        out.resize(-n);
        n = llama_detokenize(h.vocab, arr.Data(), (int32_t) arr.ElementLength(), out.data(), (int32_t) out.size(),
                             remove_special, unparse_special);
    }
    out.resize(n < 0 ? 0 : n);
    return Napi::String::New(env, out);
}

Napi::Value Model::ChatTemplate(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    const auto & h = live(env);
    const char * t = llama_model_chat_template(h.model, nullptr);
    if (!t) return env.Null();
    return Napi::String::New(env, t);
}

// applyChatTemplate(template|null, roles[], contents[], addAssistant) -> string | null (template not supported)
Napi::Value Model::ApplyChatTemplate(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    const auto & h = live(env);
    std::string tmpl;
    if (info[0].IsString()) {
        tmpl = info[0].As<Napi::String>();
    } else {
        const char * t = llama_model_chat_template(h.model, nullptr);
        if (!t) return env.Null();
        tmpl = t;
    }
    auto roles = info[1].As<Napi::Array>();
    auto contents = info[2].As<Napi::Array>();
    bool add_ass = info[3].ToBoolean();
    std::vector<std::string> r, c;
    size_t total = 0;
    for (uint32_t i = 0; i < roles.Length(); ++i) {
        r.push_back(roles.Get(i).As<Napi::String>());
        c.push_back(contents.Get(i).As<Napi::String>());
        total += r.back().size() + c.back().size();
    }
    std::vector<llama_chat_message> msgs;
    for (size_t i = 0; i < r.size(); ++i) msgs.push_back({r[i].c_str(), c[i].c_str()});
    std::string buf(total * 2 + 256, '\0');
    int32_t n = llama_chat_apply_template(tmpl.c_str(), msgs.data(), msgs.size(), add_ass, buf.data(), (int32_t) buf.size());
    if (n < 0) return env.Null();
    if ((size_t) n > buf.size()) {
        buf.resize(n);
        n = llama_chat_apply_template(tmpl.c_str(), msgs.data(), msgs.size(), add_ass, buf.data(), (int32_t) buf.size());
    }
    buf.resize(n);
    return Napi::String::New(env, buf);
}

// Drops this handle's reference; the weights are freed once no generator/embedder still uses them.
Napi::Value Model::Dispose(const Napi::CallbackInfo & info) {
    model_.reset();
    return info.Env().Undefined();
}

}  // namespace rfx
