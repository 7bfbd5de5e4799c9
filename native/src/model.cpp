// Model loading off the JS thread, and the synchronous tokenizer / metadata / chat-template calls.
#include "model.h"

#include <cstdlib>
#include <vector>

#include "devices.h"

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
                              InstanceMethod("fimTokens", &Model::FimTokens),
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

// The offload summary of a load from llama.cpp's own log lines ("model buffer size" per weight buffer).
static void read_load_log(const LogCapture & cap, ModelHolder & h) {
    for (const auto & line : cap.lines) {
        auto at = line.find(" model buffer size = ");
        if (at == std::string::npos) continue;
        auto start = line.find(": ");
        if (start == std::string::npos || start >= at) continue;
        std::string name = line.substr(start + 2, at - start - 2);
        name.erase(0, name.find_first_not_of(' '));
        double mib = std::atof(line.c_str() + at + 21);
        h.weight_buffers.emplace_back(name, mib * 1024.0 * 1024.0);
    }
}

// loadModel(path, {useMmap, gpuLayers, devices}) -> Promise<Model>
// gpuLayers: layers to put on `devices` (-1 all, output layer included as in llama.cpp's n_gpu_layers); devices:
// global ggml device indices (devices()). No devices means CPU only, whatever is registered: a backend module that
// was loaded but not chosen (e.g. a software Vulkan device under GPU=auto) never receives layers by default.
Napi::Value Model::Load(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    std::string path = info[0].As<Napi::String>();
    bool use_mmap = true;
    int32_t gpu_layers = 0;
    std::vector<int32_t> device_indices;
    if (info.Length() > 1 && info[1].IsObject()) {
        auto o = info[1].As<Napi::Object>();
        if (o.Has("useMmap")) use_mmap = o.Get("useMmap").ToBoolean();
        if (o.Has("gpuLayers") && o.Get("gpuLayers").IsNumber()) gpu_layers = o.Get("gpuLayers").As<Napi::Number>().Int32Value();
        if (o.Has("devices") && o.Get("devices").IsArray()) {
            auto a = o.Get("devices").As<Napi::Array>();
            for (uint32_t i = 0; i < a.Length(); ++i) device_indices.push_back(a.Get(i).As<Napi::Number>().Int32Value());
        }
    }
    // Resolved on the JS thread so a bad index is a synchronous error, not a failed load.
    std::vector<ggml_backend_dev_t> devs;
    try {
        devs = devices_by_index(device_indices);
    } catch (const std::exception & e) {
        throw Napi::RangeError::New(env, e.what());
    }
    if (devs.empty()) gpu_layers = 0;
    auto result = std::make_shared<ModelRef>();
    return PromiseWorker::Run(
        env, "rfx.loadModel",
        [path, use_mmap, gpu_layers, devs, result]() {
            NativeWorkGuard guard;
            clear_llama_error();
            auto mp = llama_model_default_params();
            std::vector<ggml_backend_dev_t> list(devs);
            list.push_back(nullptr);
            mp.devices = list.data();
            mp.n_gpu_layers = gpu_layers;
            mp.load_mode = use_mmap ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
            LogCapture cap;
            set_log_capture(&cap);
            llama_model * m = llama_model_load_from_file(path.c_str(), mp);
            set_log_capture(nullptr);
            if (!m) {
                std::string why = last_llama_error();
                throw std::runtime_error(why.empty() ? "llama.cpp could not load the model" : why);
            }
            auto h = std::make_shared<ModelHolder>();
            h->model = m;
            h->vocab = llama_model_get_vocab(m);
            // llama.cpp: the last min(n_gpu_layers, n_layer + 1) layers, the output layer counting as one, go to
            // the devices; a negative count means all of them.
            int32_t n_all = llama_model_n_layer(m) + 1;
            h->gpu_layers = devs.empty() ? 0 : (gpu_layers < 0 ? n_all : std::min(gpu_layers, n_all));
            read_load_log(cap, *h);
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
    o.Set("addEos", llama_vocab_get_add_eos(h.vocab));
    o.Set("gpuLayers", h.gpu_layers);
    auto bufs = Napi::Array::New(env, h.weight_buffers.size());
    for (size_t i = 0; i < h.weight_buffers.size(); ++i) {
        auto b = Napi::Object::New(env);
        b.Set("name", h.weight_buffers[i].first);
        b.Set("bytes", h.weight_buffers[i].second);
        bufs.Set((uint32_t) i, b);
    }
    o.Set("weightBuffers", bufs);
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

// fimTokens() -> {prefix, suffix, middle} token ids (-1 where the vocabulary has none)
Napi::Value Model::FimTokens(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    const auto & h = live(env);
    auto o = Napi::Object::New(env);
    o.Set("prefix", llama_vocab_fim_pre(h.vocab));
    o.Set("suffix", llama_vocab_fim_suf(h.vocab));
    o.Set("middle", llama_vocab_fim_mid(h.vocab));
    return o;
}

// Drops this handle's reference; the weights are freed once no generator/embedder still uses them.
Napi::Value Model::Dispose(const Napi::CallbackInfo & info) {
    model_.reset();
    return info.Env().Undefined();
}

}  // namespace rfx
