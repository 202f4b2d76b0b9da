#include "tflite_api.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "dynlib.h"

namespace reef {
namespace {

std::mutex g_mutex;
TfLiteApi* g_api = nullptr;

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
  return LoadLibraryOnce(g_mutex, g_api, path, "a TensorFlow Lite C library", error, [](Symbols& s, TfLiteApi* api) {
    s.Resolve("TfLiteVersion", &api->Version);
    s.Resolve("TfLiteModelCreate", &api->ModelCreate);
    s.Resolve("TfLiteModelDelete", &api->ModelDelete);
    s.Resolve("TfLiteInterpreterOptionsCreate", &api->OptionsCreate);
    s.Resolve("TfLiteInterpreterOptionsDelete", &api->OptionsDelete);
    s.Resolve("TfLiteInterpreterOptionsSetNumThreads", &api->OptionsSetNumThreads);
    s.Resolve("TfLiteInterpreterOptionsAddDelegate", &api->OptionsAddDelegate);
    s.Resolve("TfLiteInterpreterOptionsSetErrorReporter", &api->OptionsSetErrorReporter);
    s.Resolve("TfLiteInterpreterOptionsSetEnableDelegateFallback", &api->OptionsSetEnableDelegateFallback, false);
    s.Resolve("TfLiteInterpreterCreate", &api->InterpreterCreate);
    s.Resolve("TfLiteInterpreterDelete", &api->InterpreterDelete);
    s.Resolve("TfLiteInterpreterGetInputTensorCount", &api->GetInputTensorCount);
    s.Resolve("TfLiteInterpreterGetInputTensor", &api->GetInputTensor);
    s.Resolve("TfLiteInterpreterAllocateTensors", &api->AllocateTensors);
    s.Resolve("TfLiteInterpreterInvoke", &api->Invoke);
    s.Resolve("TfLiteInterpreterGetOutputTensorCount", &api->GetOutputTensorCount);
    s.Resolve("TfLiteInterpreterGetOutputTensor", &api->GetOutputTensor);
    s.Resolve("TfLiteTensorType", &api->TensorType);
    s.Resolve("TfLiteTensorNumDims", &api->TensorNumDims);
    s.Resolve("TfLiteTensorDim", &api->TensorDim);
    s.Resolve("TfLiteTensorByteSize", &api->TensorByteSize);
    s.Resolve("TfLiteTensorData", &api->TensorData);
    s.Resolve("TfLiteTensorName", &api->TensorName);
    s.Resolve("TfLiteTensorQuantizationParams", &api->TensorQuantizationParams);
    const bool x1 = s.Resolve("TfLiteXNNPackDelegateOptionsDefault", &api->XnnpackOptionsDefault, false);
    const bool x2 = s.Resolve("TfLiteXNNPackDelegateCreate", &api->XnnpackDelegateCreate, false);
    const bool x3 = s.Resolve("TfLiteXNNPackDelegateDelete", &api->XnnpackDelegateDelete, false);
    api->has_xnnpack = x1 && x2 && x3;
  });
}

}  // namespace reef
