// Per-environment state (main thread and each worker_thread get their own).
#ifndef REEF_NATIVE_ADDON_DATA_H_
#define REEF_NATIVE_ADDON_DATA_H_

#include <napi.h>

#include <string>

namespace reef {

struct AddonData {
  Napi::FunctionReference model_ctor;
  Napi::FunctionReference interpreter_ctor;
  // The JS ReefError class, injected by src/native.ts, so native errors are
  // real ReefErrors with a stable `code`.
  Napi::FunctionReference error_class;
};

// Builds an error carrying `code`: a ReefError when the class was injected,
// otherwise a plain Error with a `code` property.
Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message);

}  // namespace reef

#endif  // REEF_NATIVE_ADDON_DATA_H_
