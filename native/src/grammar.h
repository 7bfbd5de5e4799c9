// Grammar services for JS: JSON Schema → GBNF (llama.cpp common's converter, vendored) and a GBNF check that names
// the problem before a request is queued. Threading: both run synchronously on the JS thread.
#pragma once

#include <napi.h>

#include <string>

#include "llama.h"

namespace rfx {

// jsonSchemaToGrammar(schemaJsonText) -> {grammar} | {error}
Napi::Value JsonSchemaToGrammar(const Napi::CallbackInfo & info);

// checkGrammar(gbnf, root) -> null | reason. Parsed without a vocabulary, so before any model is chosen (a grammar
// naming token ids, <[123]>, is refused here).
Napi::Value CheckGrammar(const Napi::CallbackInfo & info);

}  // namespace rfx
