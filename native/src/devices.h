// GPU backends and devices: loading a prebuilt backend module into ggml's registry, listing devices and memory.
#pragma once

#include <string>
#include <vector>

#include "common.h"
#include "ggml-backend.h"

namespace rfx {

// loadBackend(path) -> {name, devices} | {error}: registers libggml-<gpu>.so of a prebuilt library set.
Napi::Value LoadBackend(const Napi::CallbackInfo & info);
// devices() -> [{index, name, description, backend, type, deviceId, freeBytes, totalBytes}] of every registered device.
Napi::Value Devices(const Napi::CallbackInfo & info);

// deviceBandwidth(deviceIndex, {bytes, passes, threads}) -> Promise<{bytes, passSeconds}>: a ggml copy on the device.
Napi::Value DeviceBandwidth(const Napi::CallbackInfo & info);

// Global ggml device indices (as devices() reports them) to device handles; throws on an unknown index.
std::vector<ggml_backend_dev_t> devices_by_index(const std::vector<int32_t> & indices);

}  // namespace rfx
