// JSON Schema → GBNF through llama.cpp's own converter, and GBNF validation with llama.cpp's parser.
#include "grammar.h"

#include <unistd.h>

#include <cstdio>
#include <mutex>

#include "../vendor/llama-common/json-schema-to-grammar.h"
#include "common.h"

namespace rfx {

Napi::Value JsonSchemaToGrammar(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "jsonSchemaToGrammar(schemaJson)");
    auto out = Napi::Object::New(env);
    try {
        auto schema = common_json::parse(info[0].As<Napi::String>().Utf8Value());
        out.Set("grammar", json_schema_to_grammar(schema, true));
    } catch (const std::exception & e) {
        out.Set("error", std::string(e.what()));
    }
    return out;
}

// llama.cpp's grammar parser reports syntax errors with fprintf(stderr) (only "failed to parse grammar" reaches the
// log hook), so the check reads stderr into a temporary file for its duration. One check at a time.
static std::string check_grammar(const std::string & gbnf, const std::string & root) {
    static std::mutex mu;
    std::lock_guard<std::mutex> lk(mu);
    clear_llama_error();
    std::FILE * tmp = std::tmpfile();
    int saved = -1;
    if (tmp) {
        std::fflush(stderr);
        saved = dup(STDERR_FILENO);
        if (saved >= 0) dup2(fileno(tmp), STDERR_FILENO);
    }
    llama_sampler * s = llama_sampler_init_grammar(nullptr, gbnf.c_str(), root.c_str());
    std::string captured;
    if (saved >= 0) {
        std::fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        std::rewind(tmp);
        char buf[512];
        // The parser's first line is the reason; the grammar text it echoes after it is the caller's own input.
        if (std::fgets(buf, sizeof(buf), tmp)) captured = buf;
    }
    if (tmp) std::fclose(tmp);
    if (s) {
        llama_sampler_free(s);
        return "";
    }
    auto trim = [](std::string x) {
        while (!x.empty() && (x.back() == '\n' || x.back() == ' ')) x.pop_back();
        return x;
    };
    const std::string prefix = "parse: error parsing grammar: ";
    auto at = captured.find(prefix);
    if (at != std::string::npos) return trim(captured.substr(at + prefix.size()));
    std::string why = trim(last_llama_error());
    return why.empty() ? "llama.cpp could not parse the grammar" : why;
}

}  // namespace rfx

namespace rfx {

Napi::Value CheckGrammar(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
        throw Napi::TypeError::New(env, "checkGrammar(gbnf, root)");
    std::string why = check_grammar(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value());
    if (why.empty()) return env.Null();
    return Napi::String::New(env, why);
}

}  // namespace rfx
