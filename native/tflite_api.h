// Dynamically loaded TensorFlow Lite C API.
//
// reef never links against libtensorflowlite_c: the library is opened at run
// time (dlopen) so one addon binary works with the build shipped by
// tfjs-tflite-node, a user's own build, or a board vendor's. The table below is
// filled once per process and is immutable afterwards, so it may be read from
// any thread without locking.
#ifndef REEF_NATIVE_TFLITE_API_H_
#define REEF_NATIVE_TFLITE_API_H_

#include <cstdarg>
#include <cstdint>
#include <string>
#include <vector>

#include "tensorflow/lite/c/c_api.h"

namespace reef {

// Layout of TfLiteXNNPackDelegateOptions in TFLite 2.9. The header is not
// shipped with the C library, so the struct is declared here.
struct XnnpackOptions {
  int32_t num_threads;
  uint32_t flags;
  void* weights_cache;
};

// XNNPACK delegate flags (tensorflow/lite/delegates/xnnpack/xnnpack_delegate.h).
constexpr uint32_t kXnnpackFlagQs8 = 0x1;  // signed int8 operators
// 0x2 (QU8) is deliberately absent: it crashes on uint8 models in TFLite 2.9.

struct TfLiteApi {
  decltype(&TfLiteVersion) Version;
  decltype(&TfLiteModelCreate) ModelCreate;
  decltype(&TfLiteModelDelete) ModelDelete;
  decltype(&TfLiteInterpreterOptionsCreate) OptionsCreate;
  decltype(&TfLiteInterpreterOptionsDelete) OptionsDelete;
  decltype(&TfLiteInterpreterOptionsSetNumThreads) OptionsSetNumThreads;
  decltype(&TfLiteInterpreterOptionsAddDelegate) OptionsAddDelegate;
  decltype(&TfLiteInterpreterOptionsSetErrorReporter) OptionsSetErrorReporter;
  void (*OptionsSetEnableDelegateFallback)(TfLiteInterpreterOptions*, bool);
  decltype(&TfLiteInterpreterCreate) InterpreterCreate;
  decltype(&TfLiteInterpreterDelete) InterpreterDelete;
  decltype(&TfLiteInterpreterGetInputTensorCount) GetInputTensorCount;
  decltype(&TfLiteInterpreterGetInputTensor) GetInputTensor;
  decltype(&TfLiteInterpreterAllocateTensors) AllocateTensors;
  decltype(&TfLiteInterpreterInvoke) Invoke;
  decltype(&TfLiteInterpreterGetOutputTensorCount) GetOutputTensorCount;
  decltype(&TfLiteInterpreterGetOutputTensor) GetOutputTensor;
  decltype(&TfLiteTensorType) TensorType;
  decltype(&TfLiteTensorNumDims) TensorNumDims;
  decltype(&TfLiteTensorDim) TensorDim;
  decltype(&TfLiteTensorByteSize) TensorByteSize;
  decltype(&TfLiteTensorData) TensorData;
  decltype(&TfLiteTensorName) TensorName;
  decltype(&TfLiteTensorQuantizationParams) TensorQuantizationParams;
  // Optional: absent from builds without XNNPACK.
  XnnpackOptions (*XnnpackOptionsDefault)();
  TfLiteDelegate* (*XnnpackDelegateCreate)(const XnnpackOptions*);
  void (*XnnpackDelegateDelete)(TfLiteDelegate*);

  std::string path;
  std::string version;
  bool has_xnnpack = false;
};

// Opens the library at `path` and resolves every symbol. The first successful
// call wins for the life of the process; a later call with another path fails.
// On failure returns nullptr and fills `error` (dlerror text included).
const TfLiteApi* LoadTfLiteApi(const std::string& path, std::string* error);

// The loaded table, or nullptr before a successful LoadTfLiteApi.
const TfLiteApi* GetTfLiteApi();

// TensorFlow Lite 2.9 logs through fprintf(stderr) ("INFO: Created TensorFlow
// Lite XNNPACK delegate for CPU.") and has no C API to silence it. While a
// LogCapture is alive, the C library's `stderr` stream points at a memory
// stream, so those lines are kept (TakeTfLiteLog) instead of printed. Node
// writes its own stderr through libuv on fd 2, not through this stream, so it
// is not affected. Captures nest across threads (reference counted); text from
// other writers of `stderr` meanwhile is printed at the end, not lost.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
};

// Returns and clears the lines TFLite logged under LogCapture so far.
std::vector<std::string> TakeTfLiteLog();

}  // namespace reef

#endif  // REEF_NATIVE_TFLITE_API_H_
