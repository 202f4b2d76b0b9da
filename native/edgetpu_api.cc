#include "edgetpu_api.h"

#include <mutex>

#include "dynlib.h"

namespace reef {
namespace {

std::mutex g_mutex;
EdgetpuApi* g_api = nullptr;

}  // namespace

const EdgetpuApi* GetEdgetpuApi() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_api;
}

const EdgetpuApi* LoadEdgetpuApi(const std::string& path, std::string* error) {
  return LoadLibraryOnce(g_mutex, g_api, path, "an Edge TPU runtime", error, [](Symbols& s, EdgetpuApi* api) {
    s.Resolve("edgetpu_list_devices", &api->ListDevices);
    s.Resolve("edgetpu_free_devices", &api->FreeDevices);
    s.Resolve("edgetpu_create_delegate", &api->CreateDelegate);
    s.Resolve("edgetpu_free_delegate", &api->FreeDelegate);
    s.Resolve("edgetpu_verbosity", &api->Verbosity);
    s.Resolve("edgetpu_version", &api->Version);
  });
}

}  // namespace reef
