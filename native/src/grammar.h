// Grammar services for JS: JSON Schema → GBNF (llama.cpp common's converter, vendored) and a GBNF check that names
// the problem before a request is queued. Threading: both run synchronously on the JS thread.
#pragma once

#include <napi.h>

#include <string>

#include "llama.h"

namespace rfx {

// jsonSchemaToGrammar(schemaJsonText) -> {grammar} | {error}
Napi::Value JsonSchemaToGrammar(const Napi::CallbackInfo & info);

// "" when `gbnf` parses for `vocab` and has rule `root`, else llama.cpp's reason.
std::string check_grammar(const llama_vocab * vocab, const std::string & gbnf, const std::string & root);

}  // namespace rfx
