// Backend modules and the device list. The prebuilt CPU, CUDA and Vulkan library sets of node-llama-cpp share one
// libllama / libggml / libggml-base code (see native/README.md); what makes a set a GPU set is its backend module,
// which ggml_backend_load() registers next to the CPU backend in the one registry the addon links.
#include "devices.h"

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

}  // namespace rfx
