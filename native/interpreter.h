// Native model and interpreter objects exposed to JavaScript.
//
// Ownership: a Model owns the model bytes and the TfLiteModel built over them
// (TFLite keeps pointers into the bytes). Every Interpreter created from it
// holds a shared_ptr to the same ModelData, so the bytes live until the last
// interpreter is gone, whatever order JavaScript drops them in.
//
// Threading: all methods are called on the JS thread. Interpreter::Init,
// Run and InvokeLoop do their work on a libuv worker thread (Napi::AsyncWorker)
// and return a Promise; at most one such job is in flight per interpreter
// (TFLite interpreters are not re-entrant), a second one is rejected with
// REEF_BUSY. Dispose() marks the interpreter dead at once; if a job is in
// flight, the TFLite objects are freed when it completes.
#ifndef REEF_NATIVE_INTERPRETER_H_
#define REEF_NATIVE_INTERPRETER_H_

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tflite_api.h"

namespace reef {

struct ModelData {
  ModelData(const TfLiteApi* api, const uint8_t* bytes, size_t size);
  ~ModelData();
  ModelData(const ModelData&) = delete;
  ModelData& operator=(const ModelData&) = delete;

  const TfLiteApi* api;
  uint8_t* bytes = nullptr;  // 64-byte aligned copy, owned.
  size_t size = 0;
  TfLiteModel* model = nullptr;
};

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Model(const Napi::CallbackInfo& info);
  std::shared_ptr<ModelData> data() const { return data_; }

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value ByteLength(const Napi::CallbackInfo& info);
  std::shared_ptr<ModelData> data_;
};

struct TensorBinding {
  TfLiteTensor* tensor;  // input tensor (writable) or output (read-only).
  void* data;            // TfLiteTensorData at bind time, refreshed after invoke
  size_t bytes;
};

class Interpreter : public Napi::ObjectWrap<Interpreter> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Interpreter(const Napi::CallbackInfo& info);
  ~Interpreter() override;

  // Worker-thread side (no JS).
  bool CreateOnWorker(std::string* error);
  bool RunOnWorker(const std::vector<const void*>& in,
                   const std::vector<void*>& out, double* invoke_ns,
                   std::string* error);
  bool LoopOnWorker(int32_t iterations, double* times_ns, std::string* error);

  // JS-thread side, called when a worker completes.
  void JobDone();
  void FreeNative();

  static void ReportError(void* self, const char* format, va_list args);

 private:
  Napi::Value Init(const Napi::CallbackInfo& info);
  Napi::Value Inputs(const Napi::CallbackInfo& info);
  Napi::Value Outputs(const Napi::CallbackInfo& info);
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value InvokeLoop(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Busy(const Napi::CallbackInfo& info);
  Napi::Value TensorInfos(Napi::Env env, bool inputs);
  // Throws (and returns false) unless the interpreter can start a job.
  bool CheckReady(Napi::Env env, bool need_created);

  std::shared_ptr<ModelData> model_;
  const TfLiteApi* api_;
  int32_t threads_ = 1;
  bool use_xnnpack_ = true;

  TfLiteInterpreterOptions* options_ = nullptr;
  TfLiteDelegate* xnnpack_ = nullptr;
  TfLiteInterpreter* interpreter_ = nullptr;
  std::vector<TensorBinding> inputs_;
  std::vector<TensorBinding> outputs_;

  // Scratch reused by every Run so the hot path allocates nothing here.
  std::vector<const void*> in_ptrs_;
  std::vector<void*> out_ptrs_;

  std::string errors_;  // Filled by the TFLite error reporter.
  bool created_ = false;
  bool busy_ = false;
  bool disposed_ = false;
};

}  // namespace reef

#endif  // REEF_NATIVE_INTERPRETER_H_
