// Native model and interpreter objects exposed to JavaScript.
//
// Ownership: a Model owns the model bytes and the TfLiteModel built over them
// (TFLite keeps pointers into the bytes). Every Interpreter created from it
// holds a shared_ptr to the same ModelData, so the bytes live until the last
// interpreter is gone, whatever order JavaScript drops them in.
//
// Threading: all methods are called on the JS thread and return at once.
// Init() creates the TFLite interpreter on a libuv worker (Napi::AsyncWorker).
// Run() and InvokeLoop() hand the job to the interpreter's own runner thread,
// which invokes and then settles the promise back on the JS thread through a
// thread-safe function. Invokes on one interpreter never overlap (TFLite
// interpreters are not re-entrant): the runner works its jobs one at a time.
// Up to kSlots jobs may be handed over at once (one invoking, the next
// waiting); one more is rejected with REEF_BUSY.
//
// Why a runner thread and not the libuv pool: waking a sleeping thread costs
// tens of microseconds on some hosts (about 35 us per wake-up in a VM), and
// every job would pay it twice. The runner spins for a short while after each
// job before it sleeps (at least spin_us, default 200, stretched to the usual
// gap before the next run, at most a tenth of a job), so back-to-back runs
// reach it without a wake-up; only the wake-up of the JS thread is left.
//
// Memory: the runner thread works only on buffers the interpreter owns (see
// JobSlot): one copy from the caller's input arrays into them on the JS
// thread, one into the TFLite tensors on the runner; the same for outputs.
//
// Dispose() marks the interpreter dead at once; if a job is in flight, the
// runner and the TFLite objects are freed when it completes.
//
// Abandon() is for an invoke that never returns (a hung Edge TPU): the JS side
// has given up on its jobs (they are never settled) and will use another
// interpreter. A runner that is not invoking is stopped and everything freed
// at once. A runner stuck in an invoke cannot be stopped: it is left to finish
// (or not) on its own; if it ever returns, it frees the TFLite objects and
// ends. What it may still touch lives in a RunnerGate it holds a reference to,
// so the object can go away first.
#ifndef REEF_NATIVE_INTERPRETER_H_
#define REEF_NATIVE_INTERPRETER_H_

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "edgetpu_api.h"
#include "preprocess.h"
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
  TfLiteTensor* tensor;        // input tensor (writable) or output (read-only).
  void* data;                  // TfLiteTensorData after AllocateTensors.
  size_t bytes;                // Size after AllocateTensors.
  std::vector<int32_t> dims;   // Shape after AllocateTensors.
  bool dynamic;                // kTfLiteDynamic: shape and size known only after invoke.
};

// What the runner thread shares with the Interpreter that owns it, kept alive by both: a runner
// stuck in an abandoned invoke may outlive the object.
struct RunnerGate {
  std::mutex mu;
  bool in_invoke = false;   // The runner is inside TfLiteInterpreterInvoke.
  bool abandoned = false;   // JS gave up on this interpreter (watchdog).
  bool dead = false;        // The object is gone or going: the runner must not touch it.
  std::string errors;       // Filled by the TFLite error reporter (which gets this gate).
  // Set when the object lets go of a stuck invoke: frees the TFLite objects (and the device) if the
  // invoke ever returns. It holds the model's bytes until then.
  std::function<void()> leftovers;
};

class Interpreter;
void CallJsOnJobDone(Napi::Env env, Napi::Function, Interpreter* self, void*);
using DoneFunction = Napi::TypedThreadSafeFunction<Interpreter, void, CallJsOnJobDone>;

class Interpreter : public Napi::ObjectWrap<Interpreter> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Interpreter(const Napi::CallbackInfo& info);
  ~Interpreter() override;

  // Worker side (no JS). Tries XNNPACK first when asked for; if TFLite
  // refuses the model with it, frees everything and creates the interpreter
  // again with the built-in kernels, recording why (delegate()).
  bool CreateOnWorker(std::string* error);

  // JS-thread side.
  void InitDone(Napi::Env env, bool ok);
  void OnJobDone(Napi::Env env);

  static void ReportError(void* self, const char* format, va_list args);
  // Env teardown (process exit, worker_thread exit): stops the runner before
  // the thread-safe function it reports through is finalized.
  static void EnvCleanup(void* self);

 private:
  enum Job : int { kNone = 0, kRun = 1, kLoop = 2 };
  static constexpr uint32_t kSlots = 2;
  static constexpr int32_t kMaxLoopIterations = 10000000;
  // Inputs are copied into the slot when run() is called, so the caller may
  // reuse or transfer its arrays at once; outputs land in the slot and are
  // copied into the caller's arrays on the JS thread when the run settles.
  // The runner never touches JS memory, which JS may detach at any time.
  struct JobSlot {
    Job kind = kNone;
    std::vector<std::vector<uint8_t>> in;   // One buffer per input tensor.
    std::vector<std::vector<uint8_t>> out;  // One buffer per output tensor (resized to what invoke made).
    std::vector<std::vector<int32_t>> out_dims;  // Output shapes after the invoke.
    bool shapes_changed = false;            // Some output's shape differs from dims.
    Napi::ObjectReference outputs;          // The caller's output arrays (null entries: allocate).
    napi_deferred deferred = nullptr;       // Settled exactly once, on the JS thread.
    double invoke_ns = 0;
    double submitted_ns = 0;  // When the JS thread handed it over (for the spin budget).
    std::vector<double> loop_times;
    bool ok = false;
    std::string error;
    // A camera frame for input 0 (run's optional 3rd and 4th arguments): made into the input
    // tensor on the runner thread (preprocess.h) instead of copied from `in`.
    bool has_frame = false;
    std::vector<uint8_t> frame;
    FrameSpec frame_spec{};
  };

  Napi::Value Init(const Napi::CallbackInfo& info);
  Napi::Value Inputs(const Napi::CallbackInfo& info);
  Napi::Value Outputs(const Napi::CallbackInfo& info);
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value InvokeLoop(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Abandon(const Napi::CallbackInfo& info);
  Napi::Value InFlightAccessor(const Napi::CallbackInfo& info);
  Napi::Value FinishedAccessor(const Napi::CallbackInfo& info);
  Napi::Value DelegateAccessor(const Napi::CallbackInfo& info);
  bool TryCreate(bool xnnpack, std::string* error);
  void FreeTflite();
  Napi::Value TensorInfos(Napi::Env env, bool inputs);
  // Throws (and returns false) unless the interpreter can start a job.
  bool CheckReady(Napi::Env env, bool need_created);
  void FreeNative();

  // Runner thread.
  enum Outcome : int { kFailed = 0, kDone = 1, kGone = 2 };
  void RunnerMain(std::shared_ptr<RunnerGate> gate);
  // Waits until slot `next` is published (or stop); false on stop.
  bool WaitForJob(uint32_t next, int64_t spin_us);
  // kGone: the interpreter was abandoned; the runner must end without touching it further.
  Outcome DoRun(JobSlot& slot, RunnerGate& gate);
  Outcome DoLoop(JobSlot& slot, RunnerGate& gate);
  // Around every invoke; they touch only the gate. False when abandoned: BeginInvoke then starts
  // nothing; EndInvoke, after an invoke the object gave up on, frees what it left behind.
  static bool BeginInvoke(RunnerGate& gate);
  static bool EndInvoke(RunnerGate& gate);
  // JS thread: copies a finished run's outputs into the caller's arrays and builds the run's
  // result. Raw N-API with every status checked: the environment may start shutting down
  // (worker.terminate()) at any moment, and then each call fails; node-addon-api would turn
  // such a failure into a fatal error. Returns napi_ok, or the failing status with *error
  // empty (shutting down: settle nothing), or napi_ok with *result null and *error set.
  napi_status CopyOutputs(napi_env env, napi_value outs, JobSlot& slot, napi_value* result,
                          std::string* error);
  // Fills the next free slot's promise, publishes it and wakes the runner.
  Napi::Value Submit(Napi::Env env, JobSlot& slot, Napi::Object self);
  JobSlot& NextSlot() { return slots_[submitted_.load() % kSlots]; }

  std::shared_ptr<ModelData> model_;
  const TfLiteApi* api_;
  int32_t threads_ = 1;
  bool use_xnnpack_ = true;
  int32_t spin_us_ = 200;

  TfLiteInterpreterOptions* options_ = nullptr;
  TfLiteDelegate* xnnpack_ = nullptr;
  // The Edge TPU device to run on (empty type: none). Set from the constructor's options.
  bool use_edgetpu_ = false;
  EdgetpuDeviceType edgetpu_type_ = kEdgetpuApexUsb;
  std::string edgetpu_path_;
  std::vector<std::pair<std::string, std::string>> edgetpu_options_;
  TfLiteDelegate* edgetpu_ = nullptr;
  const EdgetpuApi* edgetpu_api_ = nullptr;
  TfLiteInterpreter* interpreter_ = nullptr;
  std::vector<TensorBinding> inputs_;
  std::vector<TensorBinding> outputs_;
  std::shared_ptr<RunnerGate> gate_ = std::make_shared<RunnerGate>();
  std::string delegate_ = "none";  // Which delegate runs the model: "xnnpack" or "none".
  std::string delegate_reason_;    // Why (the words TFLite refused XNNPACK with, ...).

  // Runner thread and the hand-off to it.
  std::thread runner_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> sleeping_{false};
  DoneFunction done_;
  bool runner_started_ = false;
  napi_env env_ = nullptr;
  bool cleanup_hook_ = false;  // Registered after done_, so it runs before done_'s own.
  bool tearing_down_ = false;  // The environment is going (EnvCleanup).

  // Jobs: a ring of kSlots. The JS thread fills slot submitted_ % kSlots and
  // then publishes it by bumping submitted_; the runner works slots in order
  // and publishes each end by bumping finished_; the JS thread completes them
  // in order. A slot is touched by one side at a time, so it needs no lock.
  // Two slots let the next run wait inside the runner while one invokes, so
  // the runner never idles waiting for the JS thread to wake up.
  JobSlot slots_[kSlots];
  std::atomic<uint32_t> submitted_{0};  // Written by the JS thread.
  std::atomic<uint32_t> finished_{0};   // Written by the runner.
  std::atomic<bool> stop_{false};
  uint32_t completed_ = 0;              // JS thread only.
  Napi::ObjectReference self_ref_;      // Held while any job is in flight.

  bool created_ = false;
  bool initializing_ = false;
  bool disposed_ = false;
  bool abandoned_ = false;
  uint32_t InFlight() const { return submitted_.load() - completed_; }
};

}  // namespace reef

#endif  // REEF_NATIVE_INTERPRETER_H_
