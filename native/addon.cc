// Module entry: the whole native surface of reef. src/native.ts is the only
// file that loads this addon, and declares this surface as a TS interface.
#include <dlfcn.h>
#include <napi.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "addon_data.h"
#include "interpreter.h"
#include "edgetpu_api.h"
#include "tflite_api.h"

namespace reef {

Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data != nullptr && !data->error_class.IsEmpty()) {
    Napi::Value err = data->error_class.New(
        {Napi::String::New(env, code), Napi::String::New(env, message)});
    return Napi::Error(env, err);
  }
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

namespace {

Napi::Value LibraryInfo(Napi::Env env, const TfLiteApi* api) {
  auto o = Napi::Object::New(env);
  o.Set("path", api->path);
  o.Set("version", api->version);
  o.Set("xnnpack", Napi::Boolean::New(env, api->has_xnnpack));
  return o;
}

// loadLibrary(path: string): { path, version, xnnpack }
Napi::Value LoadLibrary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    MakeError(env, "REEF_INVALID_ARGUMENT", "loadLibrary expects a path string")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string error;
  const TfLiteApi* api = LoadTfLiteApi(info[0].As<Napi::String>(), &error);
  if (api == nullptr) {
    MakeError(env, "REEF_LIBRARY_NOT_FOUND", error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return LibraryInfo(env, api);
}

// libraryInfo(): { path, version, xnnpack } | null
Napi::Value GetLibraryInfo(const Napi::CallbackInfo& info) {
  const TfLiteApi* api = GetTfLiteApi();
  if (api == nullptr) return info.Env().Null();
  return LibraryInfo(info.Env(), api);
}

// wakeLatency(sleepMicros: number, rounds: number): number — median time (us)
// for a thread that slept `sleepMicros` on a condition variable to wake after
// being notified. Benchmarks print it as the floor of any async hand-off: an
// async run() must wake the JS thread once, and pays at least this.
Napi::Value WakeLatency(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    MakeError(env, "REEF_INVALID_ARGUMENT", "wakeLatency expects (sleepMicros, rounds)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  using Clock = std::chrono::steady_clock;
  const int sleep_us = std::clamp(info[0].As<Napi::Number>().Int32Value(), 0, 100000);
  const int rounds = std::clamp(info[1].As<Napi::Number>().Int32Value(), 1, 1000);
  std::vector<double> lat;
  for (int i = 0; i < rounds; ++i) {
    std::mutex m;
    std::condition_variable cv;
    bool ready = false;
    Clock::time_point sent;
    std::thread t([&] {
      const auto end = Clock::now() + std::chrono::microseconds(sleep_us);
      while (Clock::now() < end) {
      }
      {
        std::lock_guard<std::mutex> lock(m);
        ready = true;
        sent = Clock::now();
      }
      cv.notify_one();
    });
    {
      std::unique_lock<std::mutex> lock(m);
      cv.wait(lock, [&] { return ready; });
    }
    lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
    t.join();
  }
  std::nth_element(lat.begin(), lat.begin() + lat.size() / 2, lat.end());
  return Napi::Number::New(env, lat[lat.size() / 2]);
}

// loadEdgetpu(path: string): { path, version }
Napi::Value LoadEdgetpu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    MakeError(env, "REEF_INVALID_ARGUMENT", "loadEdgetpu expects a path string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string error;
  const EdgetpuApi* api = LoadEdgetpuApi(info[0].As<Napi::String>(), &error);
  if (api == nullptr) {
    MakeError(env, "REEF_EDGETPU_RUNTIME_MISSING", error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto o = Napi::Object::New(env);
  o.Set("path", api->path);
  o.Set("version", api->version);
  return o;
}

// edgetpuDevices(): Array<{ type: 'usb' | 'pci', path }> (empty before loadEdgetpu)
Napi::Value EdgetpuDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const EdgetpuApi* api = GetEdgetpuApi();
  auto arr = Napi::Array::New(env);
  if (api == nullptr) return arr;
  size_t n = 0;
  EdgetpuDevice* list = api->ListDevices(&n);
  for (size_t i = 0; list != nullptr && i < n; ++i) {
    auto o = Napi::Object::New(env);
    o.Set("type", list[i].type == kEdgetpuApexPci ? "pci" : "usb");
    o.Set("path", list[i].path != nullptr ? list[i].path : "");
    arr.Set(static_cast<uint32_t>(i), o);
  }
  if (list != nullptr) api->FreeDevices(list);
  return arr;
}

// takeTfliteLog(): string[] — the lines TFLite logged (INFO: ...) while reef
// created interpreters, instead of printing them; cleared by each call.
Napi::Value TakeLog(const Napi::CallbackInfo& info) {
  std::vector<std::string> lines = TakeTfLiteLog();
  auto arr = Napi::Array::New(info.Env(), lines.size());
  for (uint32_t i = 0; i < lines.size(); ++i) arr.Set(i, lines[i]);
  return arr;
}

// setErrorClass(cls: new (code: string, message: string) => Error)
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "setErrorClass expects a constructor").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  env.GetInstanceData<AddonData>()->error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

// Keeps this addon mapped until the process ends. Node unloads an addon when the last environment
// that loaded it goes (a worker_threads Worker terminated); a runner thread let go of while its invoke
// was stuck (or still running at that moment) would then return into unmapped code.
void PinThisLibrary() {
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&PinThisLibrary), &info) != 0 && info.dli_fname != nullptr) {
      dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);  // Marks it never to be unloaded.
    }
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  PinThisLibrary();
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // Deleted by N-API at env teardown.
  Napi::Function model = Model::Define(env);
  Napi::Function interpreter = Interpreter::Define(env);
  data->model_ctor = Napi::Persistent(model);
  data->interpreter_ctor = Napi::Persistent(interpreter);
  exports.Set("Model", model);
  exports.Set("Interpreter", interpreter);
  exports.Set("loadLibrary", Napi::Function::New(env, LoadLibrary, "loadLibrary"));
  exports.Set("libraryInfo", Napi::Function::New(env, GetLibraryInfo, "libraryInfo"));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("loadEdgetpu", Napi::Function::New(env, LoadEdgetpu, "loadEdgetpu"));
  exports.Set("edgetpuDevices", Napi::Function::New(env, EdgetpuDevices, "edgetpuDevices"));
  exports.Set("takeTfliteLog", Napi::Function::New(env, TakeLog, "takeTfliteLog"));
  exports.Set("wakeLatency", Napi::Function::New(env, WakeLatency, "wakeLatency"));
  return exports;
}

}  // namespace
}  // namespace reef

static Napi::Object InitReef(Napi::Env env, Napi::Object exports) {
  return reef::Init(env, exports);
}

NODE_API_MODULE(reef, InitReef)
