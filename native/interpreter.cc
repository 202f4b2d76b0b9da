#include "interpreter.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "addon_data.h"
// TfLiteTensor.allocation_type: a stable field at the start of the struct since TFLite 1.x.
#include "tensorflow/lite/c/common.h"

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

// A ReefError built with raw N-API calls only (see CopyOutputs); nullptr when the environment
// is shutting down.
napi_value RawError(napi_env env, const char* code, const std::string& message) {
  AddonData* data = nullptr;
  if (napi_get_instance_data(env, reinterpret_cast<void**>(&data)) != napi_ok) return nullptr;
  napi_value args[2];
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &args[0]) != napi_ok) return nullptr;
  if (napi_create_string_utf8(env, message.c_str(), message.size(), &args[1]) != napi_ok) return nullptr;
  napi_value err;
  if (data != nullptr && !data->error_class.IsEmpty()) {
    napi_value cls;
    if (napi_get_reference_value(env, data->error_class, &cls) != napi_ok) return nullptr;
    if (napi_new_instance(env, cls, 2, args, &err) != napi_ok) return nullptr;
    return err;
  }
  if (napi_create_error(env, args[0], args[1], &err) != napi_ok) return nullptr;
  return err;
}

// False while the environment is shutting down (process exit, worker.terminate()): then any
// call that settles a promise fails, and node-addon-api would turn that failure into a fatal
// error. Settling a throw-away promise is the cheapest call that asks the same question.
bool CanCallJs(napi_env env) {
  napi_deferred deferred;
  napi_value promise;
  napi_value undefined;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) return false;
  if (napi_get_undefined(env, &undefined) != napi_ok) return false;
  return napi_resolve_deferred(env, deferred, undefined) == napi_ok;
}

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
    if (CanCallJs(Env())) deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    interp_->InitDone(Env(), false);
    if (CanCallJs(Env())) deferred_.Reject(MakeError(Env(), "REEF_INTERPRETER_FAILED", e.Message()).Value());
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

size_t ElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    default:
      return 8;  // float64, bigint64, biguint64
  }
}

// The bytes of a TypedArray or DataView, whether its memory is an ArrayBuffer
// or a SharedArrayBuffer (napi_get_arraybuffer_info refuses the latter, so
// the pointer comes from the view itself). A detached view has length 0.
bool ViewBytes(const Napi::Value& v, uint8_t** data, size_t* length) {
  napi_env env = v.Env();
  bool is = false;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count = 0;
    void* p = nullptr;
    if (napi_get_typedarray_info(env, v, &type, &count, &p, nullptr, nullptr) != napi_ok) return false;
    *length = count * ElementSize(type);
    *data = static_cast<uint8_t*>(p);
    return p != nullptr || *length == 0;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    size_t n = 0;
    void* p = nullptr;
    if (napi_get_dataview_info(env, v, &n, &p, nullptr, nullptr) != napi_ok) return false;
    *length = n;
    *data = static_cast<uint8_t*>(p);
    return p != nullptr || n == 0;
  }
  return false;
}

bool IsNullish(const Napi::Value& v) { return v.IsNull() || v.IsUndefined(); }

std::vector<int32_t> DimsOf(const TfLiteApi* api, const TfLiteTensor* t) {
  std::vector<int32_t> dims(std::max(0, api->TensorNumDims(t)));
  for (size_t d = 0; d < dims.size(); ++d) dims[d] = api->TensorDim(t, static_cast<int32_t>(d));
  return dims;
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
       InstanceMethod("abandon", &Interpreter::Abandon),
       InstanceAccessor("inFlight", &Interpreter::InFlightAccessor, nullptr),
       InstanceAccessor("finished", &Interpreter::FinishedAccessor, nullptr),
       InstanceAccessor("delegate", &Interpreter::DelegateAccessor, nullptr)});
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
              "Interpreter expects (model: Model, threads: number, xnnpack: boolean, spinMicros?: number, options?: { edgetpu? })")
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
  // options.edgetpu: { type: 'usb' | 'pci', path: string, options: { name: value } }
  if (info.Length() > 4 && info[4].IsObject()) {
    Napi::Value e = info[4].As<Napi::Object>().Get("edgetpu");
    if (e.IsObject()) {
      auto o = e.As<Napi::Object>();
      edgetpu_api_ = GetEdgetpuApi();
      if (edgetpu_api_ == nullptr) {
        MakeError(env, "REEF_EDGETPU_RUNTIME_MISSING", "the Edge TPU runtime is not loaded")
            .ThrowAsJavaScriptException();
        return;
      }
      use_edgetpu_ = true;
      edgetpu_type_ = o.Get("type").ToString().Utf8Value() == "pci" ? kEdgetpuApexPci : kEdgetpuApexUsb;
      edgetpu_path_ = o.Get("path").ToString().Utf8Value();
      Napi::Value opts = o.Get("options");
      if (opts.IsObject()) {
        Napi::Array keys = opts.As<Napi::Object>().GetPropertyNames();
        for (uint32_t i = 0; i < keys.Length(); ++i) {
          std::string k = keys.Get(i).ToString().Utf8Value();
          edgetpu_options_.emplace_back(k, opts.As<Napi::Object>().Get(k).ToString().Utf8Value());
        }
      }
    }
  }
}

Interpreter::~Interpreter() { FreeNative(); }

void Interpreter::ReportError(void* gate, const char* format, va_list args) {
  std::string& errors = static_cast<RunnerGate*>(gate)->errors;
  if (errors.size() > 16384) return;  // A kernel that reports in a loop cannot grow this.
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof(buf), format, args);
  if (n <= 0) return;
  if (!errors.empty()) errors.append("\n");
  errors.append(buf, std::min<size_t>(n, sizeof(buf) - 1));
}

bool Interpreter::TryCreate(bool xnnpack, std::string* error) {
  gate_->errors.clear();
  options_ = api_->OptionsCreate();
  api_->OptionsSetNumThreads(options_, threads_);
  api_->OptionsSetErrorReporter(options_, &Interpreter::ReportError, gate_.get());
  if (use_edgetpu_) {
    std::vector<EdgetpuOption> opts;
    for (const auto& kv : edgetpu_options_) opts.push_back({kv.first.c_str(), kv.second.c_str()});
    edgetpu_ = edgetpu_api_->CreateDelegate(edgetpu_type_, edgetpu_path_.c_str(), opts.data(), opts.size());
    if (edgetpu_ == nullptr) {
      *error = std::string("the Edge TPU runtime could not open the ") +
               (edgetpu_type_ == kEdgetpuApexPci ? "PCIe" : "USB") + " device " + edgetpu_path_ +
               " (unplugged, or in use by another process?)";
      return false;
    }
    api_->OptionsAddDelegate(options_, edgetpu_);
  }
  if (xnnpack) {
    XnnpackOptions xo = api_->XnnpackOptionsDefault();
    xo.num_threads = threads_;
    xo.flags = kXnnpackFlagQs8;
    xnnpack_ = api_->XnnpackDelegateCreate(&xo);
    if (xnnpack_ == nullptr) {
      *error = "the XNNPACK delegate could not be created";
      return false;
    }
    api_->OptionsAddDelegate(options_, xnnpack_);
    if (api_->OptionsSetEnableDelegateFallback != nullptr) {
      api_->OptionsSetEnableDelegateFallback(options_, true);
    }
  }
  interpreter_ = api_->InterpreterCreate(model_->model, options_);
  if (interpreter_ == nullptr) {
    *error = "interpreter creation failed: " +
             (gate_->errors.empty() ? std::string("no detail from TensorFlow Lite") : gate_->errors);
    return false;
  }
  if (api_->AllocateTensors(interpreter_) != kTfLiteOk) {
    *error = "tensor allocation failed: " +
             (gate_->errors.empty() ? std::string("no detail from TensorFlow Lite") : gate_->errors);
    return false;
  }
  return true;
}

void Interpreter::FreeTflite() {
  // Reverse order of creation: interpreter, delegate, options (the model is shared).
  if (interpreter_ != nullptr) api_->InterpreterDelete(interpreter_);
  interpreter_ = nullptr;
  if (xnnpack_ != nullptr) api_->XnnpackDelegateDelete(xnnpack_);
  xnnpack_ = nullptr;
  if (edgetpu_ != nullptr) edgetpu_api_->FreeDelegate(edgetpu_);
  edgetpu_ = nullptr;
  if (options_ != nullptr) api_->OptionsDelete(options_);
  options_ = nullptr;
}

bool Interpreter::CreateOnWorker(std::string* error) {
  LogCapture capture;  // TFLite's INFO lines are kept for `reef -v`, not printed.
  const bool want_xnnpack = use_xnnpack_ && api_->has_xnnpack;
  if (use_edgetpu_) {
    // The Edge TPU runs the compiled part; ops left on the CPU run on TFLite's built-in kernels,
    // as in libcoral (XNNPACK would only compete with the delegate for them).
    if (!TryCreate(false, error)) return false;
    delegate_ = "edgetpu";
    delegate_reason_ = std::string("Edge TPU ") + (edgetpu_type_ == kEdgetpuApexPci ? "pci" : "usb") + " " +
                       edgetpu_path_ + ", runtime " + edgetpu_api_->version;
  } else if (!want_xnnpack) {
    delegate_ = "none";
    delegate_reason_ = use_xnnpack_ ? "this TensorFlow Lite library has no XNNPACK delegate"
                                    : "XNNPACK was turned off (xnnpack: false)";
    if (!TryCreate(false, error)) return false;
  } else {
    std::string refused;
    if (TryCreate(true, &refused)) {
      delegate_ = "xnnpack";
      delegate_reason_ = "default";
      // With delegate fallback on, TFLite may undo a failed delegation itself and keep going.
      if (gate_->errors.find("Restored original execution plan") != std::string::npos) {
        delegate_ = "none";
        delegate_reason_ = "XNNPACK refused this model (" + gate_->errors +
                           "); TensorFlow Lite's built-in kernels run it";
      }
    } else if (refused.find("unresolved custom op") != std::string::npos) {
      *error = refused;  // No kernel for an op: without XNNPACK it would fail the same way.
      return false;
    } else {
      FreeTflite();
      if (!TryCreate(false, error)) return false;
      delegate_ = "none";
      delegate_reason_ = "XNNPACK refused this model (" + refused +
                         "); TensorFlow Lite's built-in kernels run it";
    }
  }
  gate_->errors.clear();
  int32_t n_in = api_->GetInputTensorCount(interpreter_);
  int32_t n_out = api_->GetOutputTensorCount(interpreter_);
  for (int32_t i = 0; i < n_in; ++i) {
    TfLiteTensor* t = api_->GetInputTensor(interpreter_, i);
    inputs_.push_back({t, api_->TensorData(t), api_->TensorByteSize(t), DimsOf(api_, t),
                       t->allocation_type == kTfLiteDynamic});
  }
  for (int32_t i = 0; i < n_out; ++i) {
    auto* t = const_cast<TfLiteTensor*>(api_->GetOutputTensor(interpreter_, i));
    outputs_.push_back({t, api_->TensorData(t), api_->TensorByteSize(t), DimsOf(api_, t),
                        t->allocation_type == kTfLiteDynamic});
  }
  for (JobSlot& slot : slots_) {
    slot.in.resize(n_in);
    slot.out.resize(n_out);
    slot.out_dims.resize(n_out);
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
  runner_ = std::thread(&Interpreter::RunnerMain, this, gate_);
  runner_started_ = true;
}

void Interpreter::EnvCleanup(void* self) {
  auto* interp = static_cast<Interpreter*>(self);
  interp->cleanup_hook_ = false;  // Running now; FreeNative must not remove it.
  interp->tearing_down_ = true;   // An invoke in progress is let go of, never waited for.
  interp->FreeNative();
}

// ------------------------------------------------------------ runner thread

void Interpreter::RunnerMain(std::shared_ptr<RunnerGate> gate) {
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
    const Outcome outcome = slot.kind == kRun ? DoRun(slot, *gate) : DoLoop(slot, *gate);
    if (outcome == kGone) return;  // Abandoned: `this` may be gone; only `gate` is ours.
    slot.ok = outcome == kDone;
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

bool Interpreter::BeginInvoke(RunnerGate& gate) {
  std::lock_guard<std::mutex> lock(gate.mu);
  if (gate.abandoned || gate.dead) return false;
  gate.in_invoke = true;
  return true;
}

bool Interpreter::EndInvoke(RunnerGate& gate) {
  std::lock_guard<std::mutex> lock(gate.mu);
  gate.in_invoke = false;
  if (gate.dead) {  // FreeNative let go of this invoke: the object may be gone.
    if (gate.leftovers) gate.leftovers();
    gate.leftovers = nullptr;
    return false;
  }
  return !gate.abandoned;  // Abandoned: FreeNative (waiting for this lock) frees everything.
}

Interpreter::Outcome Interpreter::DoRun(JobSlot& slot, RunnerGate& gate) {
  for (size_t i = 0; i < inputs_.size(); ++i) {
    // Look the tensor up again every run: in a graph with dynamic tensors TFLite re-prepares during
    // an invoke, may add tensors (moving every TfLiteTensor) and re-plan its arena (moving their
    // data); cached pointers corrupted the heap.
    TfLiteTensor* t = api_->GetInputTensor(interpreter_, static_cast<int32_t>(i));
    void* dst = t == nullptr ? nullptr : api_->TensorData(t);
    if (dst == nullptr || api_->TensorByteSize(t) != inputs_[i].bytes) {
      slot.error = "input " + std::to_string(i) + " changed size inside TFLite";
      return kFailed;
    }
    if (i == 0 && slot.has_frame) PreprocessFrame(slot.frame_spec, slot.frame.data(), dst);
    else std::memcpy(dst, slot.in[i].data(), inputs_[i].bytes);
  }
  gate.errors.clear();
  if (!BeginInvoke(gate)) return kGone;
  double t0 = NowNs();
  TfLiteStatus status = api_->Invoke(interpreter_);
  const double t1 = NowNs();
  if (!EndInvoke(gate)) return kGone;
  slot.invoke_ns = t1 - t0;
  if (status != kTfLiteOk) {
    slot.error = "invoke failed: " +
                 (gate.errors.empty() ? std::string("no detail from TensorFlow Lite") : gate.errors);
    return kFailed;
  }
  // Shapes and sizes are read after every invoke: a dynamic output's are known only now, and a
  // kernel may have reallocated its data.
  slot.shapes_changed = false;
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const TfLiteTensor* t = api_->GetOutputTensor(interpreter_, static_cast<int32_t>(i));  // Not cached: see above.
    const size_t bytes = api_->TensorByteSize(t);
    const void* src = api_->TensorData(t);
    if (src == nullptr && bytes > 0) {
      slot.error = "invoke left output " + std::to_string(i) + " without data";
      return kFailed;
    }
    std::vector<int32_t>& dims = slot.out_dims[i];
    dims.resize(std::max(0, api_->TensorNumDims(t)));
    for (size_t d = 0; d < dims.size(); ++d) dims[d] = api_->TensorDim(t, static_cast<int32_t>(d));
    if (dims != outputs_[i].dims) slot.shapes_changed = true;
    if (slot.out[i].size() != bytes) slot.out[i].resize(bytes);
    if (bytes > 0) std::memcpy(slot.out[i].data(), src, bytes);
  }
  return kDone;
}

Interpreter::Outcome Interpreter::DoLoop(JobSlot& slot, RunnerGate& gate) {
  gate.errors.clear();
  for (double& t : slot.loop_times) {
    if (!BeginInvoke(gate)) return kGone;
    double t0 = NowNs();
    TfLiteStatus status = api_->Invoke(interpreter_);
    const double t1 = NowNs();
    if (!EndInvoke(gate)) return kGone;
    t = t1 - t0;
    if (status != kTfLiteOk) {
      slot.error = "invoke failed: " + gate.errors;
      return kFailed;
    }
  }
  return kDone;
}

// ------------------------------------------------------------ JS thread

void CallJsOnJobDone(Napi::Env env, Napi::Function, Interpreter* self, void*) {
  if (env != nullptr && self != nullptr) self->OnJobDone(env);
}

Napi::Value Interpreter::Submit(Napi::Env env, JobSlot& slot, Napi::Object self) {
  napi_value promise;
  if (napi_create_promise(env, &slot.deferred, &promise) != napi_ok) return env.Undefined();
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
  return Napi::Value(env, promise);
}

// Copies a finished run's outputs into the caller's arrays; where the caller
// gave none (null), into new ArrayBuffers of the size the invoke produced.
// The run resolves with { ns, shapes, buffers } (shapes null when every
// output kept its allocated shape; buffers null when none were created).
napi_status Interpreter::CopyOutputs(napi_env env, napi_value outs, JobSlot& slot,
                                     napi_value* result, std::string* error) {
#define REEF_TRY(call)                  \
  do {                                  \
    napi_status st_ = (call);           \
    if (st_ != napi_ok) return st_;     \
  } while (0)
  *result = nullptr;
  napi_value null_value;
  REEF_TRY(napi_get_null(env, &null_value));
  napi_value buffers = null_value;
  for (uint32_t i = 0; i < slot.out.size(); ++i) {
    napi_value given;
    REEF_TRY(napi_get_element(env, outs, i, &given));
    napi_valuetype type;
    REEF_TRY(napi_typeof(env, given, &type));
    const size_t bytes = slot.out[i].size();
    if (type == napi_null || type == napi_undefined) {
      if (buffers == null_value) REEF_TRY(napi_create_array_with_length(env, slot.out.size(), &buffers));
      void* data = nullptr;
      napi_value ab;
      REEF_TRY(napi_create_arraybuffer(env, bytes, &data, &ab));
      if (bytes > 0) std::memcpy(data, slot.out[i].data(), bytes);
      REEF_TRY(napi_set_element(env, buffers, i, ab));
      continue;
    }
    uint8_t* p;
    size_t n;
    // The caller may have detached (transferred) or swapped an array meanwhile, or a dynamic
    // output may have come out another size than the array given for it.
    if (!ViewBytes(Napi::Value(env, given), &p, &n) || (n == 0 && bytes > 0)) {
      *error = "output " + std::to_string(i) + " was detached or replaced while the run was in flight";
      return napi_ok;
    }
    if (n != bytes) {
      *error = "output " + std::to_string(i) + " holds " + std::to_string(bytes) +
               " bytes after the invoke (its shape is known only then) but the array given for it holds " +
               std::to_string(n) + "; pass no output arrays for it";
      return napi_ok;
    }
    if (bytes > 0) std::memcpy(p, slot.out[i].data(), n);
  }
  napi_value obj, ns, shapes = null_value;
  REEF_TRY(napi_create_object(env, &obj));
  REEF_TRY(napi_create_double(env, slot.invoke_ns, &ns));
  if (slot.shapes_changed) {
    REEF_TRY(napi_create_array_with_length(env, slot.out_dims.size(), &shapes));
    for (uint32_t i = 0; i < slot.out_dims.size(); ++i) {
      napi_value shape;
      REEF_TRY(napi_create_array_with_length(env, slot.out_dims[i].size(), &shape));
      for (uint32_t d = 0; d < slot.out_dims[i].size(); ++d) {
        napi_value dim;
        REEF_TRY(napi_create_int32(env, slot.out_dims[i][d], &dim));
        REEF_TRY(napi_set_element(env, shape, d, dim));
      }
      REEF_TRY(napi_set_element(env, shapes, i, shape));
    }
  }
  REEF_TRY(napi_set_named_property(env, obj, "ns", ns));
  REEF_TRY(napi_set_named_property(env, obj, "shapes", shapes));
  REEF_TRY(napi_set_named_property(env, obj, "buffers", buffers));
#undef REEF_TRY
  *result = obj;
  return napi_ok;
}

void Interpreter::OnJobDone(Napi::Env env) {
  Napi::HandleScope scope(env);
  if (abandoned_) return;  // The caller gave up on these jobs; nothing is settled.
  const uint32_t finished = finished_.load();
  bool closing = !CanCallJs(env);
  while (completed_ != finished) {
    JobSlot& slot = slots_[completed_ % kSlots];
    napi_deferred deferred = slot.deferred;
    slot.deferred = nullptr;
    napi_value outs = nullptr;
    if (!closing && slot.kind == kRun) closing = napi_get_reference_value(env, slot.outputs, &outs) != napi_ok;
    ++completed_;
    // Everything below may fail once the environment starts shutting down: then nobody is left
    // to settle for, the jobs are dropped and the env cleanup hook frees the interpreter.
    napi_value settle = nullptr;
    bool resolve = false;
    if (!closing) {
      if (!slot.ok) {
        settle = RawError(env, "REEF_INVOKE_FAILED", slot.error);
      } else if (slot.kind == kRun) {
        std::string error;
        napi_value result;
        if (CopyOutputs(env, outs, slot, &result, &error) != napi_ok) {
          settle = nullptr;
        } else if (result != nullptr) {
          settle = result;
          resolve = true;
        } else {
          settle = RawError(env, "REEF_OUTPUT_MISMATCH", error);
        }
      } else {
        napi_value ab;
        void* data = nullptr;
        const size_t bytes = sizeof(double) * slot.loop_times.size();
        if (napi_create_arraybuffer(env, bytes, &data, &ab) == napi_ok &&
            napi_create_typedarray(env, napi_float64_array, slot.loop_times.size(), ab, 0, &settle) == napi_ok) {
          std::memcpy(data, slot.loop_times.data(), bytes);
          resolve = true;
        } else {
          settle = nullptr;
        }
      }
      if (settle == nullptr) closing = true;
    }
    slot.outputs.Reset();
    if (!closing && deferred != nullptr) {
      napi_status st = resolve ? napi_resolve_deferred(env, deferred, settle)
                               : napi_reject_deferred(env, deferred, settle);
      if (st != napi_ok) closing = true;
    }
  }
  if (InFlight() == 0 && !self_ref_.IsEmpty()) {
    if (closing) return;  // Teardown: the cleanup hook frees everything, JS cannot be touched.
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
  bool stuck = false;
  if (runner_started_) {
    {
      std::lock_guard<std::mutex> lock(gate_->mu);
      // An abandoned invoke that has not returned, or any invoke still running when the environment
      // goes (a worker terminated, the process exiting): the runner cannot be joined (a stuck
      // device may never answer). It keeps the gate (and through it the model); the TFLite objects
      // it is using are left to it, freed if its call ever returns.
      stuck = (abandoned_ || tearing_down_) && gate_->in_invoke;
      if (stuck) {
        gate_->dead = true;
        gate_->leftovers = [api = api_, etpu = edgetpu_api_, interpreter = interpreter_, xnnpack = xnnpack_,
                            edgetpu = edgetpu_, options = options_, model = model_]() {
          if (interpreter != nullptr) api->InterpreterDelete(interpreter);
          if (xnnpack != nullptr) api->XnnpackDelegateDelete(xnnpack);
          if (edgetpu != nullptr) etpu->FreeDelegate(edgetpu);
          if (options != nullptr) api->OptionsDelete(options);
          (void)model;  // Freed with this function, after the interpreter that used it.
        };
      }
    }
    stop_.store(true);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_one();
    }
    // Otherwise never waits on an invoke: FreeNative runs with no job in flight, or with the runner
    // not invoking (abandoned, or at env teardown).
    if (stuck) {
      runner_.detach();
    } else {
      runner_.join();
    }
    runner_started_ = false;
    if (abandoned_) {
      done_.Abort();  // Completions still queued are dropped (CallJsOnJobDone gets no env).
    } else {
      done_.Release();
    }
  }
  if (stuck) {
    interpreter_ = nullptr;  // The stuck invoke's, freed by it if it returns (gate->leftovers).
    xnnpack_ = nullptr;
    edgetpu_ = nullptr;
    options_ = nullptr;
  }
  FreeTflite();  // Interpreter, delegate, options; then the model below.
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
    o.Set("dynamic", Napi::Boolean::New(env, list[i].dynamic));
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
  // run(inputs, outputs, frame, spec): input 0 is made from a raw frame on the runner thread.
  slot.has_frame = info.Length() > 3 && !IsNullish(info[2]);
  if (slot.has_frame) {
    uint8_t* frame;
    size_t frame_bytes, spec_bytes;
    double* spec;
    std::string error = "run expects a Uint8Array frame and a Float64Array spec";
    if (!ViewBytes(info[2], &frame, &frame_bytes) || !info[3].IsTypedArray() ||
        info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        !ViewBytes(info[3], reinterpret_cast<uint8_t**>(&spec), &spec_bytes) || inputs_.empty() ||
        !ReadFrameSpec(spec, spec_bytes / sizeof(double), frame_bytes, inputs_[0].bytes, &slot.frame_spec, &error)) {
      slot.has_frame = false;
      MakeError(env, "REEF_INVALID_ARGUMENT", error).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    slot.frame.assign(frame, frame + frame_bytes);
  }
  for (uint32_t i = 0; i < inputs_.size(); ++i) {
    uint8_t* p;
    size_t n;
    if (i == 0 && slot.has_frame) continue;
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
    Napi::Value given = outs.Get(i);
    if (IsNullish(given)) continue;  // The addon allocates it at the size the invoke produces.
    // Sizes are checked in TypeScript (a dynamic output's only after the invoke, in CopyOutputs).
    if (!ViewBytes(given, &p, &n)) {
      MakeError(env, "REEF_INVALID_ARGUMENT",
                "output " + std::to_string(i) + " must be null or a typed array of " +
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

// abandon(): true when a job was in flight and is now given up (never settled). See interpreter.h.
Napi::Value Interpreter::Abandon(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (abandoned_ || !runner_started_ || (disposed_ && InFlight() == 0)) {
    return Napi::Boolean::New(env, false);
  }
  const bool had_jobs = InFlight() > 0;
  abandoned_ = true;
  disposed_ = true;
  {
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->abandoned = true;
  }
  // Joins a runner that is not invoking; lets go of a stuck one (it touches only the gate from now
  // on). Queued completions are dropped; the thread-safe function no longer holds the process.
  FreeNative();
  self_ref_.Reset();  // Nothing will come back to this object: it may be collected.
  return Napi::Boolean::New(env, had_jobs);
}

Napi::Value Interpreter::Dispose(const Napi::CallbackInfo& info) {
  if (!disposed_) {
    disposed_ = true;
    if (InFlight() == 0 && !initializing_) FreeNative();  // Otherwise freed when the last job ends.
  }
  return info.Env().Undefined();
}

// delegate: { name: "xnnpack" | "none", reason: string } once initialised.
Napi::Value Interpreter::DelegateAccessor(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("name", delegate_);
  o.Set("reason", delegate_reason_);
  return o;
}

// finished: how many jobs the runner has ended so far (their completions may not have reached JS
// yet: a busy event loop runs timers first). The watchdog asks it before calling a job stuck.
Napi::Value Interpreter::FinishedAccessor(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), finished_.load());
}

Napi::Value Interpreter::InFlightAccessor(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), initializing_ ? kSlots : InFlight());
}

}  // namespace reef
