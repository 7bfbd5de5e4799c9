// Entry of the Reflexia native addon: backend loading, logging, and the Model / Generator / Embedder / Evaluator / VectorIndex classes.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <deque>

#include "common.h"
#include "embedder.h"
#include "evaluator.h"
#include "devices.h"
#include "generator.h"
#include "grammar.h"
#include "ggml-backend.h"
#include "model.h"
#include "vector-index.h"

namespace rfx {

void shutdown_all_generators();

static std::mutex g_log_mu;
static std::string g_last_error;
static std::atomic<int> g_log_level{0};  // 0 silent, 1 errors+warnings to stderr, 2 everything

std::string last_llama_error() {
    std::lock_guard<std::mutex> lk(g_log_mu);
    return g_last_error;
}

void clear_llama_error() {
    std::lock_guard<std::mutex> lk(g_log_mu);
    g_last_error.clear();
}

static thread_local LogCapture * t_capture = nullptr;
void set_log_capture(LogCapture * capture) { t_capture = capture; }

static void log_cb(ggml_log_level level, const char * text, void *) {
    if (t_capture && text) t_capture->lines.emplace_back(text);
    if (level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN) {
        std::lock_guard<std::mutex> lk(g_log_mu);
        std::string line(text);
        while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
        if (!line.empty()) g_last_error = line;
    }
    int lvl = g_log_level.load();
    if (lvl >= 2 || (lvl >= 1 && (level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN))) {
        fputs(text, stderr);
    }
}

static std::atomic<int> g_work_in_flight{0};
NativeWorkGuard::NativeWorkGuard() { ++g_work_in_flight; }
NativeWorkGuard::~NativeWorkGuard() { --g_work_in_flight; }

void wait_for_native_work(int max_ms) {
    for (int waited = 0; g_work_in_flight.load() > 0 && waited < max_ms; waited += 5)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

static void stop_all_native_work() {
    shutdown_all_generators();
    wait_for_native_work(10000);
}

// Loop threads must be gone before ggml's statics are destroyed. A normal end of Node runs the env cleanup hook;
// process.exit() goes straight to exit(), which runs atexit handlers in reverse order of registration, among them
// the destructors of function-local statics that ggml creates lazily (first model load, first graph). So the stop
// is registered again after each context's first decode: the latest registration runs before all of those (a
// generation in flight at process.exit() crashed inside ggml otherwise). Running it more than once is harmless.
void register_exit_stop() { std::atexit([]() { stop_all_native_work(); }); }

static bool g_initialized = false;

// init(backendDir, {logLevel}) -> {cpuBackend: description}
static Napi::Value Init(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    if (info.Length() > 1 && info[1].IsObject()) {
        auto o = info[1].As<Napi::Object>();
        if (o.Has("logLevel")) g_log_level = o.Get("logLevel").As<Napi::Number>().Int32Value();
    }
    if (!g_initialized) {
        // node-llama-cpp may share this process and libggml: its log hook is replaced only by ours, and the CPU
        // backend is loaded once (a second registration of the same variant would be a duplicate device).
        llama_log_set(log_cb, nullptr);
        llama_backend_init();
        g_initialized = true;
    }
    if (!ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) && info.Length() > 0 && info[0].IsString()) {
        std::string dir = info[0].As<Napi::String>();
        ggml_backend_load_all_from_path(dir.c_str());
    }
    auto * dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!dev) throw Napi::Error::New(env, "no llama.cpp CPU backend could be loaded");
    register_exit_stop();
    auto out = Napi::Object::New(env);
    out.Set("cpuBackend", std::string(ggml_backend_dev_description(dev)));
    auto * reg = ggml_backend_dev_backend_reg(dev);
    out.Set("cpuBackendName", std::string(ggml_backend_reg_name(reg)));
    return out;
}

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
    exports.Set("init", Napi::Function::New(env, Init));
    exports.Set("loadModel", Napi::Function::New(env, Model::Load));
    exports.Set("loadBackend", Napi::Function::New(env, LoadBackend));
    exports.Set("devices", Napi::Function::New(env, Devices));
    exports.Set("jsonSchemaToGrammar", Napi::Function::New(env, JsonSchemaToGrammar));
    exports.Set("checkGrammar", Napi::Function::New(env, CheckGrammar));
    exports.Set("deviceBandwidth", Napi::Function::New(env, DeviceBandwidth));
    exports.Set("Model", Model::Define(env));
    exports.Set("Generator", Generator::Define(env));
    exports.Set("Embedder", Embedder::Define(env));
    exports.Set("Evaluator", Evaluator::Define(env));
    exports.Set("VectorIndex", VectorIndex::Define(env));
    exports.Set("attentionTileRows", Napi::Number::New(env, TILE_ROWS));
    env.AddCleanupHook([]() { stop_all_native_work(); });
    return exports;
}

}  // namespace rfx

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return rfx::InitModule(env, exports); }

NODE_API_MODULE(reflexia_native, InitAll)
