// Loading a C library at run time, once per process: TensorFlow Lite's and the
// Edge TPU runtime's (tflite_api.cc, edgetpu_api.cc).
#ifndef REEF_NATIVE_DYNLIB_H_
#define REEF_NATIVE_DYNLIB_H_

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace reef {

// The symbols of an opened library: each Resolve looks one up; the required
// ones that are missing are listed together for one error message.
class Symbols {
 public:
  explicit Symbols(void* handle) : handle_(handle) {}

  template <typename Fn>
  bool Resolve(const char* name, Fn* out, bool required = true) {
    void* sym = dlsym(handle_, name);
    *out = reinterpret_cast<Fn>(sym);
    if (sym == nullptr && required) {
      if (!missing_.empty()) missing_.append(", ");
      missing_.append(name);
    }
    return sym != nullptr;
  }

  const std::string& missing() const { return missing_; }

 private:
  void* handle_;
  std::string missing_;
};

// Opens `path` and fills a new Api (a struct with `path` and `version`
// members) through `resolve(Symbols&, Api*)`, once: the library stays loaded
// for the life of the process, so a later call with another path is refused
// (one process can use only one). `what` names the library in errors, with
// its article ("a TensorFlow Lite C library").
template <typename Api, typename ResolveFn>
const Api* LoadLibraryOnce(std::mutex& mutex, Api*& loaded, const std::string& path, const char* what,
                           std::string* error, ResolveFn resolve) {
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded != nullptr) {
    if (loaded->path == path) return loaded;
    *error = std::string(what) + " is already loaded from " + loaded->path +
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
  auto* api = new Api();
  Symbols symbols(handle);
  resolve(symbols, api);
  if (!symbols.missing().empty()) {
    *error = path + " is not " + what + ": missing symbols " + symbols.missing();
    dlclose(handle);
    delete api;
    return nullptr;
  }
  api->path = path;
  const char* v = api->Version();
  api->version = v ? v : "";
  loaded = api;  // Leaked on purpose: the library stays loaded.
  return loaded;
}

}  // namespace reef

#endif  // REEF_NATIVE_DYNLIB_H_
