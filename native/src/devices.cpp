// Backend modules and the device list. The prebuilt CPU, CUDA and Vulkan library sets of node-llama-cpp share one
// libllama / libggml / libggml-base code (see native/README.md); what makes a set a GPU set is its backend module,
// which ggml_backend_load() registers next to the CPU backend in the one registry the addon links.
#include "devices.h"

#include <chrono>

#include "ggml-alloc.h"

namespace rfx {

static const char * type_name(enum ggml_backend_dev_type t) {
    switch (t) {
        case GGML_BACKEND_DEVICE_TYPE_CPU: return "cpu";
        case GGML_BACKEND_DEVICE_TYPE_GPU: return "gpu";
        case GGML_BACKEND_DEVICE_TYPE_IGPU: return "igpu";
        case GGML_BACKEND_DEVICE_TYPE_ACCEL: return "accel";
        default: return "other";
    }
}

Napi::Value LoadBackend(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadBackend(path): path must be a string");
    std::string path = info[0].As<Napi::String>();
    clear_llama_error();
    // ggml logs why a module did not load (dlopen's message: a missing libcuda.so.1, libvulkan.so.1, ...).
    ggml_backend_reg_t reg = ggml_backend_load(path.c_str());
    auto out = Napi::Object::New(env);
    if (!reg) {
        std::string why = last_llama_error();
        out.Set("error", why.empty() ? std::string("ggml could not load ") + path : why);
        return out;
    }
    out.Set("name", std::string(ggml_backend_reg_name(reg)));
    out.Set("devices", (double) ggml_backend_reg_dev_count(reg));
    return out;
}

Napi::Value Devices(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    size_t n = ggml_backend_dev_count();
    auto arr = Napi::Array::New(env, n);
    for (size_t i = 0; i < n; ++i) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        ggml_backend_dev_props props;
        ggml_backend_dev_get_props(dev, &props);
        auto o = Napi::Object::New(env);
        o.Set("index", (double) i);
        o.Set("name", std::string(props.name ? props.name : ""));
        o.Set("description", std::string(props.description ? props.description : ""));
        o.Set("backend", std::string(ggml_backend_reg_name(ggml_backend_dev_backend_reg(dev))));
        o.Set("type", type_name(props.type));
        o.Set("deviceId", props.device_id ? Napi::Value(Napi::String::New(env, props.device_id)) : env.Null());
        o.Set("freeBytes", (double) props.memory_free);
        o.Set("totalBytes", (double) props.memory_total);
        arr.Set((uint32_t) i, o);
    }
    return arr;
}

std::vector<ggml_backend_dev_t> devices_by_index(const std::vector<int32_t> & indices) {
    std::vector<ggml_backend_dev_t> out;
    size_t n = ggml_backend_dev_count();
    for (int32_t i : indices) {
        if (i < 0 || (size_t) i >= n) throw std::runtime_error("no ggml device " + std::to_string(i));
        out.push_back(ggml_backend_dev_get((size_t) i));
    }
    return out;
}

// deviceBandwidth(deviceIndex, {bytes, passes, threads}) -> Promise<{bytes, passSeconds[]}>
// Copies one f32 tensor of `bytes` into another on the device through a ggml graph (read + write: 2·bytes moved per
// pass), after one warm-up pass. A decode step streams the weights through the same device memory, so this rate over
// the bytes a token reads bounds decode speed. CPU devices run the copy on `threads` threads.
Napi::Value DeviceBandwidth(const Napi::CallbackInfo & info) {
    auto env = info.Env();
    int32_t index = info[0].As<Napi::Number>().Int32Value();
    auto o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    auto num = [&](const char * k, double d) { return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().DoubleValue() : d; };
    double bytes_req = num("bytes", 256.0 * 1024 * 1024);
    int passes = std::max(1, (int) num("passes", 5));
    int threads = std::max(1, (int) num("threads", 1));
    ggml_backend_dev_t dev;
    try {
        dev = devices_by_index({index}).at(0);
    } catch (const std::exception & e) {
        throw Napi::RangeError::New(env, e.what());
    }
    const int64_t row = 1 << 16;  // f32 elements per row: many rows, so CPU threads split the copy evenly
    int64_t rows = std::max<int64_t>(1, (int64_t) (bytes_req / 4 / row));
    auto result = std::make_shared<std::vector<double>>();
    double bytes = (double) rows * row * 4;
    return PromiseWorker::Run(
        env, "rfx.deviceBandwidth",
        [dev, rows, passes, threads, result]() {
            NativeWorkGuard guard;
            ggml_backend_t be = ggml_backend_dev_init(dev, nullptr);
            if (!be) throw std::runtime_error("could not initialise the device");
            auto * reg = ggml_backend_dev_backend_reg(dev);
            auto set_threads = (ggml_backend_set_n_threads_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
            if (set_threads) set_threads(be, threads);
            ggml_init_params ip = {ggml_tensor_overhead() * 4 + ggml_graph_overhead(), nullptr, true};
            ggml_context * ctx = ggml_init(ip);
            ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, row, rows);
            ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, row, rows);
            ggml_cgraph * gf = ggml_new_graph(ctx);
            ggml_build_forward_expand(gf, ggml_cpy(ctx, a, b));
            ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, be);
            if (!buf) {
                ggml_free(ctx);
                ggml_backend_free(be);
                throw std::runtime_error("could not allocate the copy buffers on the device");
            }
            ggml_backend_buffer_clear(buf, 0);
            bool ok = true;
            for (int i = 0; i <= passes && ok; ++i) {
                auto t0 = std::chrono::steady_clock::now();
                ok = ggml_backend_graph_compute(be, gf) == GGML_STATUS_SUCCESS;
                ggml_backend_synchronize(be);
                double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                if (i > 0) result->push_back(s);  // pass 0 warms caches, pages and (on GPUs) pipelines
            }
            ggml_backend_buffer_free(buf);
            ggml_free(ctx);
            ggml_backend_free(be);
            if (!ok) throw std::runtime_error("the copy graph failed on the device");
        },
        [result, bytes](Napi::Env env) -> Napi::Value {
            auto out = Napi::Object::New(env);
            out.Set("bytes", bytes);
            auto arr = Napi::Array::New(env, result->size());
            for (size_t i = 0; i < result->size(); ++i) arr.Set((uint32_t) i, (*result)[i]);
            out.Set("passSeconds", arr);
            return out;
        });
}

}  // namespace rfx
