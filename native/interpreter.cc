#include "interpreter.h"

#include <algorithm>
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

// Creates the TFLite interpreter on a libuv worker; settles init()'s promise.
class InitJob : public Napi::AsyncWorker {
 public:
  InitJob(Napi::Env env, Interpreter* interp, Napi::Object self)
      : Napi::AsyncWorker(env), interp_(interp), deferred_(env) {
    self_ = Napi::Persistent(self);  // Keeps the JS object alive meanwhile.
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    std::string error;
    if (!interp_->CreateOnWorker(&error)) SetError(error);
  }
  void OnOK() override {
    interp_->InitDone(Env(), true);
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    interp_->InitDone(Env(), false);
    deferred_.Reject(MakeError(Env(), "REEF_INTERPRETER_FAILED", e.Message()).Value());
  }

 private:
  Interpreter* interp_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference self_;
};

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

bool ViewBytes(const Napi::Value& v, uint8_t** data, size_t* length) {
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    auto ab = ta.ArrayBuffer();
    if (ab.IsDetached()) return false;
    *data = static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset();
    *length = ta.ByteLength();
    return true;
  }
  if (v.IsDataView()) {
    auto dv = v.As<Napi::DataView>();
    if (dv.ArrayBuffer().IsDetached()) return false;
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
       InstanceAccessor("inFlight", &Interpreter::InFlightAccessor, nullptr)});
}

// new Interpreter(model: Model, threads: number, xnnpack: boolean, spinMicros?: number)
Interpreter::Interpreter(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Interpreter>(info), api_(GetTfLiteApi()) {
  Napi::Env env = info.Env();
  AddonData* data = Data(env);
  if (info.Length() < 3 || !info[0].IsObject() ||
      !info[0].As<Napi::Object>().InstanceOf(data->model_ctor.Value()) ||
      !info[1].IsNumber() || !info[2].IsBoolean() ||
      (info.Length() > 3 && !info[3].IsNumber())) {
    MakeError(env, "REEF_INVALID_ARGUMENT",
              "Interpreter expects (model: Model, threads: number, xnnpack: boolean, spinMicros?: number)")
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
  if (info.Length() > 3) spin_us_ = std::max(0, info[3].As<Napi::Number>().Int32Value());
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
    return false;
  }
  if (api_->AllocateTensors(interpreter_) != kTfLiteOk) {
    *error = "tensor allocation failed: " + errors_;
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
  for (JobSlot& slot : slots_) {
    slot.in.resize(n_in);
    slot.out.resize(n_out);
    for (int32_t i = 0; i < n_in; ++i) slot.in[i].resize(inputs_[i].bytes);
    for (int32_t i = 0; i < n_out; ++i) slot.out[i].resize(outputs_[i].bytes);
  }
  return true;
}

void Interpreter::InitDone(Napi::Env env, bool ok) {
  initializing_ = false;
  if (!ok) {
    FreeNative();  // A failed init leaves nothing behind; the object is unusable.
    return;
  }
  if (disposed_) {
    FreeNative();
    return;
  }
  done_ = DoneFunction::New(env, "reef-interpreter", 0, 1, this);
  done_.Unref(env);  // Only a job in flight keeps the process alive.
  env_ = env;
  cleanup_hook_ = napi_add_env_cleanup_hook(env, &Interpreter::EnvCleanup, this) == napi_ok;
  runner_ = std::thread(&Interpreter::RunnerMain, this);
  runner_started_ = true;
}

void Interpreter::EnvCleanup(void* self) {
  auto* interp = static_cast<Interpreter*>(self);
  interp->cleanup_hook_ = false;  // Running now; FreeNative must not remove it.
  interp->FreeNative();
}

// ------------------------------------------------------------ runner thread

void Interpreter::RunnerMain() {
  // Spin budget: at least spin_us_, stretched to cover the usual gap between the end of a job and
  // the next submission (the JS thread's wake-up and work), but never more than a tenth of a job
  // or 2 ms, so spinning costs at most ~10% of a core next to the invokes.
  double last_done_ns = 0;
  double gap_us = 0;  // Moving average of done -> next submit.
  double job_us = 0;
  double budget_us = spin_us_;
  for (uint32_t next = 0;; ++next) {
    if (!WaitForJob(next, static_cast<int64_t>(budget_us))) return;
    JobSlot& slot = slots_[next % kSlots];
    const double picked = NowNs();
    if (next > 0) {
      const double gap = std::max(0.0, slot.submitted_ns - last_done_ns) / 1000;
      gap_us = next == 1 ? gap : 0.8 * gap_us + 0.2 * gap;
    }
    slot.ok = slot.kind == kRun ? DoRun(slot) : DoLoop(slot);
    last_done_ns = NowNs();
    job_us = (last_done_ns - picked) / 1000;
    budget_us = spin_us_ == 0 ? 0
        : std::max<double>(spin_us_, std::min({1.5 * gap_us, 0.1 * job_us, 2000.0}));
    finished_.store(next + 1);
    if (done_.NonBlockingCall() != napi_ok) return;  // The environment is closing.
  }
}

bool Interpreter::WaitForJob(uint32_t next, int64_t spin_us) {
  using Clock = std::chrono::steady_clock;
  auto ready = [&] { return stop_.load() || submitted_.load() != next; };
  const auto deadline = Clock::now() + std::chrono::microseconds(spin_us);
  for (int n = 1; !ready(); ++n) {
    if ((n & 63) == 0 && Clock::now() >= deadline) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleeping_.store(true);
      wake_.wait(lock, ready);
      sleeping_.store(false);
      break;
    }
    CpuRelax();
  }
  return !stop_.load();
}

bool Interpreter::DoRun(JobSlot& slot) {
  for (size_t i = 0; i < inputs_.size(); ++i) {
    std::memcpy(inputs_[i].data, slot.in[i].data(), inputs_[i].bytes);
  }
  errors_.clear();
  double t0 = NowNs();
  TfLiteStatus status = api_->Invoke(interpreter_);
  slot.invoke_ns = NowNs() - t0;
  if (status != kTfLiteOk) {
    slot.error = "invoke failed: " +
                 (errors_.empty() ? std::string("no detail from TensorFlow Lite") : errors_);
    return false;
  }
  for (size_t i = 0; i < outputs_.size(); ++i) {
    // Re-read the data pointer in case a kernel reallocated a dynamic output.
    std::memcpy(slot.out[i].data(), api_->TensorData(outputs_[i].tensor), outputs_[i].bytes);
  }
  return true;
}

bool Interpreter::DoLoop(JobSlot& slot) {
  errors_.clear();
  for (double& t : slot.loop_times) {
    double t0 = NowNs();
    TfLiteStatus status = api_->Invoke(interpreter_);
    t = NowNs() - t0;
    if (status != kTfLiteOk) {
      slot.error = "invoke failed: " + errors_;
      return false;
    }
  }
  return true;
}

// ------------------------------------------------------------ JS thread

void CallJsOnJobDone(Napi::Env env, Napi::Function, Interpreter* self, void*) {
  if (env != nullptr && self != nullptr) self->OnJobDone(env);
}

Napi::Value Interpreter::Submit(Napi::Env env, JobSlot& slot, Napi::Object self) {
  slot.deferred.emplace(env);
  Napi::Promise promise = slot.deferred->Promise();
  slot.submitted_ns = NowNs();
  if (InFlight() == 0) {
    self_ref_ = Napi::Persistent(self);  // Keeps this object alive while jobs run.
    done_.Ref(env);                      // And the process.
  }
  submitted_.store(submitted_.load() + 1);  // Publishes the slot to the runner.
  if (sleeping_.load()) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_one();
  }
  return promise;
}

bool Interpreter::CopyOutputs(Napi::Value outs, JobSlot& slot, std::string* error) {
  auto arr = outs.As<Napi::Array>();
  for (uint32_t i = 0; i < slot.out.size(); ++i) {
    uint8_t* p;
    size_t n;
    // The caller may have detached (transferred) or swapped an array meanwhile.
    if (!ViewBytes(arr.Get(i), &p, &n) || n != slot.out[i].size()) {
      *error = "output " + std::to_string(i) + " was detached or replaced while the run was in flight";
      return false;
    }
    std::memcpy(p, slot.out[i].data(), n);
  }
  return true;
}

void Interpreter::OnJobDone(Napi::Env env) {
  Napi::HandleScope scope(env);
  const uint32_t finished = finished_.load();
  while (completed_ != finished) {
    JobSlot& slot = slots_[completed_ % kSlots];
    Napi::Promise::Deferred deferred = *slot.deferred;
    slot.deferred.reset();
    Napi::Value outs = slot.kind == kRun ? slot.outputs.Value() : env.Undefined();
    slot.outputs.Reset();
    ++completed_;
    if (!slot.ok) {
      deferred.Reject(MakeError(env, "REEF_INVOKE_FAILED", slot.error).Value());
    } else if (slot.kind == kRun) {
      std::string error;
      if (CopyOutputs(outs, slot, &error)) {
        deferred.Resolve(Napi::Number::New(env, slot.invoke_ns));
      } else {
        deferred.Reject(MakeError(env, "REEF_OUTPUT_MISMATCH", error).Value());
      }
    } else {
      auto arr = Napi::Float64Array::New(env, slot.loop_times.size());
      std::memcpy(arr.Data(), slot.loop_times.data(), sizeof(double) * slot.loop_times.size());
      deferred.Resolve(arr);
    }
  }
  if (InFlight() == 0 && !self_ref_.IsEmpty()) {
    done_.Unref(env);
    if (disposed_) FreeNative();
    self_ref_.Reset();  // Last: may let this object be collected.
  }
}

void Interpreter::FreeNative() {
  if (cleanup_hook_) {
    napi_remove_env_cleanup_hook(env_, &Interpreter::EnvCleanup, this);
    cleanup_hook_ = false;
  }
  if (runner_started_) {
    stop_.store(true);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_one();
    }
    runner_.join();  // Never waits on an invoke: FreeNative runs only with no job in flight.
    runner_started_ = false;
    done_.Release();
  }
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
  if (initializing_ || InFlight() >= kSlots) {
    MakeError(env, "REEF_BUSY",
              initializing_ ? "the interpreter is still initialising; await init() first"
                            : "the interpreter already holds " + std::to_string(kSlots) +
                                  " jobs (one invoking, one waiting); wait for one to finish")
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
  auto* job = new InitJob(env, this, info.This().As<Napi::Object>());
  initializing_ = true;
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
  JobSlot& slot = NextSlot();
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
    std::memcpy(slot.in[i].data(), p, n);
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
  }
  slot.kind = kRun;
  slot.outputs = Napi::Persistent(outs.As<Napi::Object>());
  return Submit(env, slot, info.This().As<Napi::Object>());
}

// invokeLoop(iterations): Promise<Float64Array> — a plain native loop of
// TfLiteInterpreterInvoke on this interpreter, the baseline for benchmarks.
Napi::Value Interpreter::InvokeLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckReady(env, true)) return env.Undefined();
  const double n = info.Length() < 1 || !info[0].IsNumber() ? 0 : info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 1 && n <= kMaxLoopIterations) || n != static_cast<double>(static_cast<int64_t>(n))) {
    MakeError(env, "REEF_INVALID_ARGUMENT",
              "invokeLoop expects an integer iteration count from 1 to " + std::to_string(kMaxLoopIterations))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  JobSlot& slot = NextSlot();
  slot.kind = kLoop;
  slot.loop_times.assign(static_cast<size_t>(n), 0.0);
  return Submit(env, slot, info.This().As<Napi::Object>());
}

Napi::Value Interpreter::Dispose(const Napi::CallbackInfo& info) {
  if (!disposed_) {
    disposed_ = true;
    if (InFlight() == 0 && !initializing_) FreeNative();  // Otherwise freed when the last job ends.
  }
  return info.Env().Undefined();
}

Napi::Value Interpreter::InFlightAccessor(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), initializing_ ? kSlots : InFlight());
}

}  // namespace reef
