// JS handle of a loaded llama_model: metadata, tokenizer, chat template.
// Threading: the methods run on the JS thread; the load itself runs on the libuv pool (PromiseWorker). The weights
// (ModelHolder) are shared read-only with decode loops and embedders on their own threads, kept alive by ModelRef.
#pragma once

#include "common.h"

namespace rfx {

class Model : public Napi::ObjectWrap<Model> {
  public:
    static Napi::Function Define(Napi::Env env);
    static Napi::Value Load(const Napi::CallbackInfo & info);
    static Napi::FunctionReference * constructor;

    explicit Model(const Napi::CallbackInfo & info);
    ModelRef ref() const { return model_; }

  private:
    Napi::Value Info(const Napi::CallbackInfo & info);
    Napi::Value Meta(const Napi::CallbackInfo & info);
    Napi::Value Tokenize(const Napi::CallbackInfo & info);
    Napi::Value Detokenize(const Napi::CallbackInfo & info);
    Napi::Value ChatTemplate(const Napi::CallbackInfo & info);
    Napi::Value ApplyChatTemplate(const Napi::CallbackInfo & info);
    Napi::Value FimTokens(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);

    const ModelHolder & live(Napi::Env env) const;

    ModelRef model_;
};

}  // namespace rfx
