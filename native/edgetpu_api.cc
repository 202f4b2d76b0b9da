#include "edgetpu_api.h"

#include <dlfcn.h>

#include <mutex>

namespace reef {
namespace {

std::mutex g_mutex;
EdgetpuApi* g_api = nullptr;  // Leaked on purpose: the library stays loaded.

template <typename Fn>
void Resolve(void* handle, const char* name, Fn* out, std::string* missing) {
  void* sym = dlsym(handle, name);
  *out = reinterpret_cast<Fn>(sym);
  if (sym == nullptr) {
    if (!missing->empty()) missing->append(", ");
    missing->append(name);
  }
}

}  // namespace

const EdgetpuApi* GetEdgetpuApi() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_api;
}

const EdgetpuApi* LoadEdgetpuApi(const std::string& path, std::string* error) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_api != nullptr) {
    if (g_api->path == path) return g_api;
    *error = "an Edge TPU runtime is already loaded from " + g_api->path +
             "; one process can use only one (asked for " + path + ")";
    return nullptr;
  }
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    *error = "dlopen(" + path + ") failed: " + (why ? why : "unknown error");
    return nullptr;
  }
  auto* api = new EdgetpuApi();
  std::string missing;
  Resolve(handle, "edgetpu_list_devices", &api->ListDevices, &missing);
  Resolve(handle, "edgetpu_free_devices", &api->FreeDevices, &missing);
  Resolve(handle, "edgetpu_create_delegate", &api->CreateDelegate, &missing);
  Resolve(handle, "edgetpu_free_delegate", &api->FreeDelegate, &missing);
  Resolve(handle, "edgetpu_verbosity", &api->Verbosity, &missing);
  Resolve(handle, "edgetpu_version", &api->Version, &missing);
  if (!missing.empty()) {
    *error = path + " is not an Edge TPU runtime: missing symbols " + missing;
    dlclose(handle);
    delete api;
    return nullptr;
  }
  api->path = path;
  const char* v = api->Version();
  api->version = v ? v : "";
  g_api = api;
  return g_api;
}

}  // namespace reef
