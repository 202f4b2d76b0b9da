#include "interpreter.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "addon_data.h"

namespace reef {
namespace {

struct DtypeName {
  TfLiteType type;
  const char* name;
};

// One vocabulary for dtypes across reef (matches src/types.ts).
constexpr DtypeName kDtypes[] = {
    {kTfLiteNoType, "none"},       {kTfLiteFloat32, "float32"},
    {kTfLiteInt32, "int32"},       {kTfLiteUInt8, "uint8"},
    {kTfLiteInt64, "int64"},       {kTfLiteString, "string"},
    {kTfLiteBool, "bool"},         {kTfLiteInt16, "int16"},
    {kTfLiteComplex64, "complex64"}, {kTfLiteInt8, "int8"},
    {kTfLiteFloat16, "float16"},   {kTfLiteFloat64, "float64"},
    {kTfLiteComplex128, "complex128"}, {kTfLiteUInt64, "uint64"},
    {kTfLiteResource, "resource"}, {kTfLiteVariant, "variant"},
    {kTfLiteUInt32, "uint32"},
};
static_assert(sizeof(kDtypes) / sizeof(kDtypes[0]) == kTfLiteUInt32 + 1,
              "every TfLiteType of TFLite 2.9 has a name");

const char* DtypeOf(TfLiteType type) {
  for (const auto& d : kDtypes) {
    if (d.type == type) return d.name;
  }
  return "unknown";
}

double NowNs() {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

AddonData* Data(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

// Base for the interpreter's async jobs: keeps the JS Interpreter object alive
// while the worker runs and settles a promise.
class InterpreterJob : public Napi::AsyncWorker {
 public:
  InterpreterJob(Napi::Env env, Interpreter* interp, Napi::Object self,
                 const char* error_code)
      : Napi::AsyncWorker(env), interp_(interp), deferred_(env),
        error_code_(error_code) {
    self_ = Napi::Persistent(self);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void OnError(const Napi::Error& e) override {
    Napi::Env env = Env();
    interp_->JobDone();
    deferred_.Reject(MakeError(env, error_code_, e.Message()).Value());
  }
  Interpreter* interp_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference self_;
  const char* error_code_;
};

class InitJob : public InterpreterJob {
 public:
  using InterpreterJob::InterpreterJob;
  void Execute() override {
    std::string error;
    if (!interp_->CreateOnWorker(&error)) SetError(error);
  }
  void OnOK() override {
    interp_->JobDone();
    deferred_.Resolve(Env().Undefined());
  }
};

class RunJob : public InterpreterJob {
 public:
  RunJob(Napi::Env env, Interpreter* interp, Napi::Object self,
         Napi::Object inputs, Napi::Object outputs,
         const std::vector<const void*>& in, const std::vector<void*>& out)
      : InterpreterJob(env, interp, self, "REEF_INVOKE_FAILED"),
        in_(in), out_(out) {
    // Hold the arrays so their memory stays valid while the worker uses it.
    inputs_ = Napi::Persistent(inputs);
    outputs_ = Napi::Persistent(outputs);
  }
  void Execute() override {
    std::string error;
    if (!interp_->RunOnWorker(in_, out_, &invoke_ns_, &error)) SetError(error);
  }
  void OnOK() override {
    Napi::Env env = Env();
    interp_->JobDone();
    deferred_.Resolve(Napi::Number::New(env, invoke_ns_));
  }

 private:
  const std::vector<const void*>& in_;
  const std::vector<void*>& out_;
  Napi::ObjectReference inputs_;
  Napi::ObjectReference outputs_;
  double invoke_ns_ = 0;
};

class LoopJob : public InterpreterJob {
 public:
  LoopJob(Napi::Env env, Interpreter* interp, Napi::Object self,
          int32_t iterations)
      : InterpreterJob(env, interp, self, "REEF_INVOKE_FAILED"),
        iterations_(iterations), times_(iterations) {}
  void Execute() override {
    std::string error;
    if (!interp_->LoopOnWorker(iterations_, times_.data(), &error)) SetError(error);
  }
  void OnOK() override {
    Napi::Env env = Env();
    interp_->JobDone();
    auto arr = Napi::Float64Array::New(env, iterations_);
    std::memcpy(arr.Data(), times_.data(), sizeof(double) * iterations_);
    deferred_.Resolve(arr);
  }

 private:
  int32_t iterations_;
  std::vector<double> times_;
};

bool ViewBytes(const Napi::Value& v, uint8_t** data, size_t* length) {
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    auto ab = ta.ArrayBuffer();
    *data = static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset();
    *length = ta.ByteLength();
    return true;
  }
  if (v.IsDataView()) {
    auto dv = v.As<Napi::DataView>();
    *data = static_cast<uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
    *length = dv.ByteLength();
    return true;
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------- ModelData

ModelData::ModelData(const TfLiteApi* api, const uint8_t* src, size_t n)
    : api(api), size(n) {
  size_t padded = (n + 63) / 64 * 64;
  bytes = static_cast<uint8_t*>(std::aligned_alloc(64, padded == 0 ? 64 : padded));
  if (bytes != nullptr) {
    std::memcpy(bytes, src, n);
    model = api->ModelCreate(bytes, n);
  }
}

ModelData::~ModelData() {
  if (model != nullptr) api->ModelDelete(model);
  std::free(bytes);
}

// ---------------------------------------------------------------- Model

Napi::Function Model::Define(Napi::Env env) {
  return DefineClass(env, "Model",
                     {InstanceMethod("dispose", &Model::Dispose),
                      InstanceAccessor("byteLength", &Model::ByteLength, nullptr)});
}

// new Model(bytes: Uint8Array)
Model::Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
  Napi::Env env = info.Env();
  const TfLiteApi* api = GetTfLiteApi();
  if (api == nullptr) {
    MakeError(env, "REEF_LIBRARY_NOT_FOUND", "the TensorFlow Lite library is not loaded")
        .ThrowAsJavaScriptException();
    return;
  }
  uint8_t* data;
  size_t length;
  if (info.Length() < 1 || !ViewBytes(info[0], &data, &length)) {
    MakeError(env, "REEF_INVALID_ARGUMENT", "Model expects a Uint8Array of model bytes")
        .ThrowAsJavaScriptException();
    return;
  }
  auto md = std::make_shared<ModelData>(api, data, length);
  if (md->model == nullptr) {
    MakeError(env, "REEF_MODEL_INVALID",
              "TensorFlow Lite refused the model bytes (flatbuffer verification failed)")
        .ThrowAsJavaScriptException();
    return;
  }
  data_ = std::move(md);
}

Napi::Value Model::Dispose(const Napi::CallbackInfo& info) {
  data_.reset();
  return info.Env().Undefined();
}

Napi::Value Model::ByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), data_ ? static_cast<double>(data_->size) : 0);
}

// ---------------------------------------------------------------- Interpreter

Napi::Function Interpreter::Define(Napi::Env env) {
  return DefineClass(
      env, "Interpreter",
      {InstanceMethod("init", &Interpreter::Init),
       InstanceMethod("inputs", &Interpreter::Inputs),
       InstanceMethod("outputs", &Interpreter::Outputs),
       InstanceMethod("run", &Interpreter::Run),
       InstanceMethod("invokeLoop", &Interpreter::InvokeLoop),
       InstanceMethod("dispose", &Interpreter::Dispose),
       InstanceAccessor("busy", &Interpreter::Busy, nullptr)});
}

// new Interpreter(model: Model, threads: number, xnnpack: boolean)
Interpreter::Interpreter(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Interpreter>(info), api_(GetTfLiteApi()) {
  Napi::Env env = info.Env();
  AddonData* data = Data(env);
  if (info.Length() < 3 || !info[0].IsObject() ||
      !info[0].As<Napi::Object>().InstanceOf(data->model_ctor.Value()) ||
      !info[1].IsNumber() || !info[2].IsBoolean()) {
    MakeError(env, "REEF_INVALID_ARGUMENT",
              "Interpreter expects (model: Model, threads: number, xnnpack: boolean)")
        .ThrowAsJavaScriptException();
    return;
  }
  model_ = Model::Unwrap(info[0].As<Napi::Object>())->data();
  if (!model_) {
    MakeError(env, "REEF_DISPOSED", "the model was disposed")
        .ThrowAsJavaScriptException();
    return;
  }
  threads_ = info[1].As<Napi::Number>().Int32Value();
  use_xnnpack_ = info[2].As<Napi::Boolean>().Value();
}

Interpreter::~Interpreter() { FreeNative(); }

void Interpreter::ReportError(void* self, const char* format, va_list args) {
  auto* interp = static_cast<Interpreter*>(self);
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof(buf), format, args);
  if (n <= 0) return;
  if (!interp->errors_.empty()) interp->errors_.append("\n");
  interp->errors_.append(buf, std::min<size_t>(n, sizeof(buf) - 1));
}

bool Interpreter::CreateOnWorker(std::string* error) {
  errors_.clear();
  options_ = api_->OptionsCreate();
  api_->OptionsSetNumThreads(options_, threads_);
  api_->OptionsSetErrorReporter(options_, &Interpreter::ReportError, this);
  if (use_xnnpack_ && api_->has_xnnpack) {
    XnnpackOptions xo = api_->XnnpackOptionsDefault();
    xo.num_threads = threads_;
    xo.flags = kXnnpackFlagQs8;
    xnnpack_ = api_->XnnpackDelegateCreate(&xo);
    if (xnnpack_ != nullptr) {
      api_->OptionsAddDelegate(options_, xnnpack_);
      if (api_->OptionsSetEnableDelegateFallback != nullptr) {
        api_->OptionsSetEnableDelegateFallback(options_, true);
      }
    }
  }
  interpreter_ = api_->InterpreterCreate(model_->model, options_);
  if (interpreter_ == nullptr) {
    *error = "interpreter creation failed: " +
             (errors_.empty() ? std::string("no detail from TensorFlow Lite") : errors_);
    FreeNative();
    return false;
  }
  if (api_->AllocateTensors(interpreter_) != kTfLiteOk) {
    *error = "tensor allocation failed: " + errors_;
    FreeNative();
    return false;
  }
  int32_t n_in = api_->GetInputTensorCount(interpreter_);
  int32_t n_out = api_->GetOutputTensorCount(interpreter_);
  for (int32_t i = 0; i < n_in; ++i) {
    TfLiteTensor* t = api_->GetInputTensor(interpreter_, i);
    inputs_.push_back({t, api_->TensorData(t), api_->TensorByteSize(t)});
  }
  for (int32_t i = 0; i < n_out; ++i) {
    auto* t = const_cast<TfLiteTensor*>(api_->GetOutputTensor(interpreter_, i));
    outputs_.push_back({t, api_->TensorData(t), api_->TensorByteSize(t)});
  }
  in_ptrs_.resize(n_in);
  out_ptrs_.resize(n_out);
  return true;
}

bool Interpreter::RunOnWorker(const std::vector<const void*>& in,
                              const std::vector<void*>& out, double* invoke_ns,
                              std::string* error) {
  for (size_t i = 0; i < inputs_.size(); ++i) {
    std::memcpy(inputs_[i].data, in[i], inputs_[i].bytes);
  }
  errors_.clear();
  double t0 = NowNs();
  TfLiteStatus status = api_->Invoke(interpreter_);
  *invoke_ns = NowNs() - t0;
  if (status != kTfLiteOk) {
    *error = "invoke failed: " +
             (errors_.empty() ? std::string("no detail from TensorFlow Lite") : errors_);
    return false;
  }
  for (size_t i = 0; i < outputs_.size(); ++i) {
    // Output data pointers are stable after AllocateTensors for static
    // shapes; re-read in case a kernel reallocated a dynamic tensor.
    const void* src = api_->TensorData(outputs_[i].tensor);
    std::memcpy(out[i], src, outputs_[i].bytes);
  }
  return true;
}

bool Interpreter::LoopOnWorker(int32_t iterations, double* times_ns,
                               std::string* error) {
  errors_.clear();
  for (int32_t i = 0; i < iterations; ++i) {
    double t0 = NowNs();
    TfLiteStatus status = api_->Invoke(interpreter_);
    times_ns[i] = NowNs() - t0;
    if (status != kTfLiteOk) {
      *error = "invoke failed: " + errors_;
      return false;
    }
  }
  return true;
}

void Interpreter::JobDone() {
  busy_ = false;
  if (disposed_) FreeNative();
}

void Interpreter::FreeNative() {
  // Reverse order of creation: interpreter, delegate, options, then model.
  if (interpreter_ != nullptr) api_->InterpreterDelete(interpreter_);
  interpreter_ = nullptr;
  if (xnnpack_ != nullptr) api_->XnnpackDelegateDelete(xnnpack_);
  xnnpack_ = nullptr;
  if (options_ != nullptr) api_->OptionsDelete(options_);
  options_ = nullptr;
  inputs_.clear();
  outputs_.clear();
  model_.reset();
}

bool Interpreter::CheckReady(Napi::Env env, bool need_created) {
  if (disposed_) {
    MakeError(env, "REEF_DISPOSED", "the interpreter was disposed").ThrowAsJavaScriptException();
    return false;
  }
  if (busy_) {
    MakeError(env, "REEF_BUSY",
              "the interpreter is already running a job; one invoke is in flight per interpreter")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (need_created && created_ && interpreter_ == nullptr) {
    MakeError(env, "REEF_INVALID_STATE", "the interpreter failed to initialise; create a new one")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (need_created != created_) {
    MakeError(env, "REEF_INVALID_STATE",
              need_created ? "the interpreter is not initialised; await init() first"
                           : "the interpreter is already initialised")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Value Interpreter::Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckReady(env, false)) return env.Undefined();
  auto* job = new InitJob(env, this, info.This().As<Napi::Object>(),
                          "REEF_INTERPRETER_FAILED");
  busy_ = true;
  created_ = true;  // Set now; a failed init leaves the object unusable.
  Napi::Promise p = job->Promise();
  job->Queue();
  return p;
}

Napi::Value Interpreter::TensorInfos(Napi::Env env, bool inputs) {
  if (disposed_) {
    MakeError(env, "REEF_DISPOSED", "the interpreter was disposed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const auto& list = inputs ? inputs_ : outputs_;
  auto arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const TfLiteTensor* t = list[i].tensor;
    auto o = Napi::Object::New(env);
    const char* name = api_->TensorName(t);
    o.Set("name", Napi::String::New(env, name ? name : ""));
    o.Set("dtype", Napi::String::New(env, DtypeOf(api_->TensorType(t))));
    int32_t dims = api_->TensorNumDims(t);
    auto shape = Napi::Array::New(env, dims);
    for (int32_t d = 0; d < dims; ++d) shape.Set(d, api_->TensorDim(t, d));
    o.Set("shape", shape);
    TfLiteQuantizationParams q = api_->TensorQuantizationParams(t);
    o.Set("scale", Napi::Number::New(env, q.scale));
    o.Set("zeroPoint", Napi::Number::New(env, q.zero_point));
    o.Set("byteLength", Napi::Number::New(env, static_cast<double>(list[i].bytes)));
    arr.Set(i, o);
  }
  return arr;
}

Napi::Value Interpreter::Inputs(const Napi::CallbackInfo& info) {
  return TensorInfos(info.Env(), true);
}

Napi::Value Interpreter::Outputs(const Napi::CallbackInfo& info) {
  return TensorInfos(info.Env(), false);
}

// run(inputs: ArrayBufferView[], outputs: ArrayBufferView[]): Promise<number>
// Resolves with the invoke time in nanoseconds. Shapes and dtypes are checked
// once in TypeScript; here only what memory safety needs: counts and sizes.
Napi::Value Interpreter::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckReady(env, true)) return env.Undefined();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray()) {
    MakeError(env, "REEF_INVALID_ARGUMENT", "run expects (inputs: TypedArray[], outputs: TypedArray[])")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto ins = info[0].As<Napi::Array>();
  auto outs = info[1].As<Napi::Array>();
  if (ins.Length() != inputs_.size() || outs.Length() != outputs_.size()) {
    MakeError(env, "REEF_INVALID_ARGUMENT",
              "run got " + std::to_string(ins.Length()) + " inputs and " +
                  std::to_string(outs.Length()) + " outputs, the model has " +
                  std::to_string(inputs_.size()) + " and " + std::to_string(outputs_.size()))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (uint32_t i = 0; i < inputs_.size(); ++i) {
    uint8_t* p;
    size_t n;
    if (!ViewBytes(ins.Get(i), &p, &n) || n != inputs_[i].bytes) {
      MakeError(env, "REEF_INPUT_SHAPE_MISMATCH",
                "input " + std::to_string(i) + " must be a typed array of " +
                    std::to_string(inputs_[i].bytes) + " bytes")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    in_ptrs_[i] = p;
  }
  for (uint32_t i = 0; i < outputs_.size(); ++i) {
    uint8_t* p;
    size_t n;
    if (!ViewBytes(outs.Get(i), &p, &n) || n != outputs_[i].bytes) {
      MakeError(env, "REEF_INVALID_ARGUMENT",
                "output " + std::to_string(i) + " must be a typed array of " +
                    std::to_string(outputs_[i].bytes) + " bytes")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    out_ptrs_[i] = p;
  }
  auto* job = new RunJob(env, this, info.This().As<Napi::Object>(), ins, outs,
                         in_ptrs_, out_ptrs_);
  busy_ = true;
  Napi::Promise p = job->Promise();
  job->Queue();
  return p;
}

// invokeLoop(iterations): Promise<Float64Array> — a plain native loop of
// TfLiteInterpreterInvoke on this interpreter, the baseline for benchmarks.
Napi::Value Interpreter::InvokeLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckReady(env, true)) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsNumber() ||
      info[0].As<Napi::Number>().Int32Value() < 1) {
    MakeError(env, "REEF_INVALID_ARGUMENT", "invokeLoop expects a positive iteration count")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* job = new LoopJob(env, this, info.This().As<Napi::Object>(),
                          info[0].As<Napi::Number>().Int32Value());
  busy_ = true;
  Napi::Promise p = job->Promise();
  job->Queue();
  return p;
}

Napi::Value Interpreter::Dispose(const Napi::CallbackInfo& info) {
  if (!disposed_) {
    disposed_ = true;
    if (!busy_) FreeNative();  // Otherwise JobDone frees after the worker.
  }
  return info.Env().Undefined();
}

Napi::Value Interpreter::Busy(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), busy_);
}

}  // namespace reef
