#include "tflite_api.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace reef {
namespace {

std::mutex g_mutex;
TfLiteApi* g_api = nullptr;  // Leaked on purpose: the library stays loaded.

template <typename Fn>
bool Resolve(void* handle, const char* name, Fn* out, bool required,
             std::string* missing) {
  void* sym = dlsym(handle, name);
  *out = reinterpret_cast<Fn>(sym);
  if (sym == nullptr && required) {
    if (!missing->empty()) missing->append(", ");
    missing->append(name);
  }
  return sym != nullptr;
}

std::mutex g_log_mutex;
int g_log_depth = 0;
FILE* g_saved_stderr = nullptr;
FILE* g_log_stream = nullptr;
char* g_log_buffer = nullptr;
size_t g_log_size = 0;
std::vector<std::string> g_log_lines;

bool IsTfLiteLine(const std::string& line) {
  for (const char* p : {"INFO: ", "WARNING: ", "ERROR: ", "VERBOSE: "}) {
    if (line.rfind(p, 0) == 0) return true;
  }
  return false;
}

}  // namespace

LogCapture::LogCapture() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (g_log_depth++ > 0) return;
  FILE* stream = open_memstream(&g_log_buffer, &g_log_size);
  if (stream == nullptr) return;  // Nothing captured: TFLite prints as it always did.
  std::fflush(stderr);
  g_saved_stderr = stderr;
  g_log_stream = stream;
  stderr = stream;  // glibc's stderr is an assignable variable.
}

LogCapture::~LogCapture() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (--g_log_depth > 0 || g_log_stream == nullptr) return;
  stderr = g_saved_stderr;
  std::fclose(g_log_stream);  // Flushes into g_log_buffer.
  g_log_stream = nullptr;
  std::string text(g_log_buffer != nullptr ? g_log_buffer : "", g_log_size);
  std::free(g_log_buffer);
  g_log_buffer = nullptr;
  g_log_size = 0;
  std::string other;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (IsTfLiteLine(line)) {
      if (g_log_lines.size() < 1000) g_log_lines.push_back(line);
    } else if (!line.empty()) {
      other += line + "\n";
    }
    start = end + 1;
  }
  if (!other.empty()) std::fputs(other.c_str(), stderr);  // Not TFLite's: not ours to keep.
}

std::vector<std::string> TakeTfLiteLog() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::vector<std::string> out;
  out.swap(g_log_lines);
  return out;
}

const TfLiteApi* GetTfLiteApi() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_api;
}

const TfLiteApi* LoadTfLiteApi(const std::string& path, std::string* error) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_api != nullptr) {
    if (g_api->path == path) return g_api;
    *error = "a TensorFlow Lite library is already loaded from " + g_api->path +
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
  auto* api = new TfLiteApi();
  std::string missing;
  Resolve(handle, "TfLiteVersion", &api->Version, true, &missing);
  Resolve(handle, "TfLiteModelCreate", &api->ModelCreate, true, &missing);
  Resolve(handle, "TfLiteModelDelete", &api->ModelDelete, true, &missing);
  Resolve(handle, "TfLiteInterpreterOptionsCreate", &api->OptionsCreate, true, &missing);
  Resolve(handle, "TfLiteInterpreterOptionsDelete", &api->OptionsDelete, true, &missing);
  Resolve(handle, "TfLiteInterpreterOptionsSetNumThreads", &api->OptionsSetNumThreads, true, &missing);
  Resolve(handle, "TfLiteInterpreterOptionsAddDelegate", &api->OptionsAddDelegate, true, &missing);
  Resolve(handle, "TfLiteInterpreterOptionsSetErrorReporter", &api->OptionsSetErrorReporter, true, &missing);
  Resolve(handle, "TfLiteInterpreterOptionsSetEnableDelegateFallback",
          &api->OptionsSetEnableDelegateFallback, false, &missing);
  Resolve(handle, "TfLiteInterpreterCreate", &api->InterpreterCreate, true, &missing);
  Resolve(handle, "TfLiteInterpreterDelete", &api->InterpreterDelete, true, &missing);
  Resolve(handle, "TfLiteInterpreterGetInputTensorCount", &api->GetInputTensorCount, true, &missing);
  Resolve(handle, "TfLiteInterpreterGetInputTensor", &api->GetInputTensor, true, &missing);
  Resolve(handle, "TfLiteInterpreterAllocateTensors", &api->AllocateTensors, true, &missing);
  Resolve(handle, "TfLiteInterpreterInvoke", &api->Invoke, true, &missing);
  Resolve(handle, "TfLiteInterpreterGetOutputTensorCount", &api->GetOutputTensorCount, true, &missing);
  Resolve(handle, "TfLiteInterpreterGetOutputTensor", &api->GetOutputTensor, true, &missing);
  Resolve(handle, "TfLiteTensorType", &api->TensorType, true, &missing);
  Resolve(handle, "TfLiteTensorNumDims", &api->TensorNumDims, true, &missing);
  Resolve(handle, "TfLiteTensorDim", &api->TensorDim, true, &missing);
  Resolve(handle, "TfLiteTensorByteSize", &api->TensorByteSize, true, &missing);
  Resolve(handle, "TfLiteTensorData", &api->TensorData, true, &missing);
  Resolve(handle, "TfLiteTensorName", &api->TensorName, true, &missing);
  Resolve(handle, "TfLiteTensorQuantizationParams", &api->TensorQuantizationParams, true, &missing);
  bool x1 = Resolve(handle, "TfLiteXNNPackDelegateOptionsDefault", &api->XnnpackOptionsDefault, false, &missing);
  bool x2 = Resolve(handle, "TfLiteXNNPackDelegateCreate", &api->XnnpackDelegateCreate, false, &missing);
  bool x3 = Resolve(handle, "TfLiteXNNPackDelegateDelete", &api->XnnpackDelegateDelete, false, &missing);
  if (!missing.empty()) {
    *error = path + " is not a TensorFlow Lite C library: missing symbols " + missing;
    dlclose(handle);
    delete api;
    return nullptr;
  }
  api->has_xnnpack = x1 && x2 && x3;
  api->path = path;
  const char* v = api->Version();
  api->version = v ? v : "";
  g_api = api;
  return g_api;
}

}  // namespace reef
