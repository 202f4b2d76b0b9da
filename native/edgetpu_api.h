// Dynamically loaded Edge TPU runtime (libedgetpu) C API, edgetpu_c.h.
//
// Like TFLite, libedgetpu is opened at run time (dlopen): one addon works on
// hosts without it (CPU only), with Coral's std or max build, or with the
// test stand-in. The table is filled once and immutable afterwards.
#ifndef REEF_NATIVE_EDGETPU_API_H_
#define REEF_NATIVE_EDGETPU_API_H_

#include <cstddef>
#include <string>

#include "tensorflow/lite/c/c_api.h"

namespace reef {

// Layouts from edgetpu_c.h (stable since runtime 12).
enum EdgetpuDeviceType { kEdgetpuApexPci = 0, kEdgetpuApexUsb = 1 };
struct EdgetpuDevice {
  EdgetpuDeviceType type;
  const char* path;
};
struct EdgetpuOption {
  const char* name;
  const char* value;
};

struct EdgetpuApi {
  EdgetpuDevice* (*ListDevices)(size_t* num_devices);
  void (*FreeDevices)(EdgetpuDevice* dev);
  TfLiteDelegate* (*CreateDelegate)(EdgetpuDeviceType type, const char* name,
                                    const EdgetpuOption* options, size_t num_options);
  void (*FreeDelegate)(TfLiteDelegate* delegate);
  void (*Verbosity)(int verbosity);
  const char* (*Version)();
  std::string path;
  std::string version;
};

// Opens libedgetpu at `path` (a bare name is searched the way dlopen does).
// The first success wins for the life of the process; asking again for the
// same path returns it, another path fails. nullptr + `error` on failure.
const EdgetpuApi* LoadEdgetpuApi(const std::string& path, std::string* error);

// The loaded table, or nullptr.
const EdgetpuApi* GetEdgetpuApi();

}  // namespace reef

#endif  // REEF_NATIVE_EDGETPU_API_H_
