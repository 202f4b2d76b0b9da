// STAND-IN for libedgetpu.so.1 (Coral's Edge TPU runtime), for tests only: no
// Coral device is attached to the machines reef is developed and tested on.
//
// It exports the C API of edgetpu_c.h and behaves as the real runtime does
// where reef can observe it:
//   - edgetpu_version() says "BuildLabel(...), RuntimeVersion(N)";
//   - edgetpu_list_devices() lists the devices it is told about;
//   - edgetpu_create_delegate() fails (nullptr) for a device that is not there;
//   - its delegate claims every `edgetpu-custom-op` node in Prepare, as the
//     real delegate does, and computes the node's outputs by running a CPU
//     twin of the compiled model (the model given to edgetpu_compiler), so
//     results can be checked.
// Told through the environment:
//   REEF_STANDIN_TFLITE      path of libtensorflowlite_c (to run the twin)
//   REEF_STANDIN_TWIN        path of the CPU twin model
//   REEF_STANDIN_DEVICES     e.g. "usb:2,pci:1" (default: no device)
//   REEF_STANDIN_RUNTIME     runtime version it reports (default 14)
//   REEF_STANDIN_FAIL_AFTER  invokes that succeed before every later one fails
//                            as a device that went away does
//   REEF_STANDIN_VERSION     the whole edgetpu_version() string instead
//   REEF_STANDIN_USB2        1: a USB Accelerator on a USB 2 port: every invoke
//                            takes 3x as long (the slow-down users report)
//   REEF_STANDIN_STATE       path of a file read at every call, so a test can
//                            change the device while it runs: words
//                            "devices=SPEC" (replaces REEF_STANDIN_DEVICES;
//                            a device that leaves the list fails its invokes,
//                            as an unplugged one does) and "hang" (invokes
//                            block until the word is gone: a stuck device),
//                            "busy" (listed, but it cannot be opened: held by
//                            another process).
// Like the real runtime, the delegate's kernel refuses in Prepare a package
// whose minimum runtime version (in the op's options) is newer than its own.
#include <dlfcn.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <thread>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tensorflow/lite/c/c_api.h"
#include "tensorflow/lite/c/common.h"

extern "C" {
enum edgetpu_device_type { EDGETPU_APEX_PCI = 0, EDGETPU_APEX_USB = 1 };
struct edgetpu_device {
  enum edgetpu_device_type type;
  const char* path;
};
struct edgetpu_option {
  const char* name;
  const char* value;
};
}

namespace {

const char* Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// The words of the REEF_STANDIN_STATE file ("" when there is none).
std::string State() {
  const char* path = Env("REEF_STANDIN_STATE", "");
  if (*path == '\0') return "";
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return " " + ss.str() + " ";
}

bool StateSays(const std::string& state, const char* word) {
  for (size_t at = state.find(word); at != std::string::npos; at = state.find(word, at + 1)) {
    const size_t end = at + std::strlen(word);
    if (std::isspace(static_cast<unsigned char>(state[at - 1])) && (end >= state.size() || std::isspace(static_cast<unsigned char>(state[end])))) return true;
  }
  return false;
}

struct Listed {
  edgetpu_device_type type;
  std::string path;
};

std::vector<Listed> Devices() {
  std::vector<Listed> out;
  std::string spec = Env("REEF_STANDIN_DEVICES", "");
  const std::string state = State();
  const size_t d = state.find(" devices=");
  if (d != std::string::npos) {
    const size_t from = d + 9;
    spec = state.substr(from, state.find_first_of(" \t\r\n", from) - from);
  }
  size_t start = 0;
  int usb = 0, pci = 0;
  while (start < spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    std::string item = spec.substr(start, end - start);
    size_t colon = item.find(':');
    std::string kind = item.substr(0, colon);
    int n = colon == std::string::npos ? 1 : std::atoi(item.c_str() + colon + 1);
    for (int i = 0; i < n; ++i) {
      if (kind == "usb") out.push_back({EDGETPU_APEX_USB, "/sys/bus/usb/devices/" + std::to_string(2 + usb++) + "-1"});
      if (kind == "pci") out.push_back({EDGETPU_APEX_PCI, "/dev/apex_" + std::to_string(pci++)});
    }
    start = end + 1;
  }
  return out;
}

// The few TFLite C functions the twin needs, from the library reef loaded.
struct Tfl {
  decltype(&TfLiteModelCreateFromFile) ModelCreateFromFile;
  decltype(&TfLiteInterpreterCreate) InterpreterCreate;
  decltype(&TfLiteInterpreterAllocateTensors) AllocateTensors;
  decltype(&TfLiteInterpreterInvoke) Invoke;
  decltype(&TfLiteInterpreterGetInputTensorCount) InputCount;
  decltype(&TfLiteInterpreterGetInputTensor) Input;
  decltype(&TfLiteInterpreterGetOutputTensorCount) OutputCount;
  decltype(&TfLiteInterpreterGetOutputTensor) Output;
  decltype(&TfLiteTensorByteSize) ByteSize;
  decltype(&TfLiteTensorData) Data;
};

struct StandinDelegate {
  TfLiteDelegate base;  // First: the runtime hands us back this pointer.
  Tfl tfl{};
  TfLiteInterpreter* twin = nullptr;
  long invokes = 0;
  long fail_after = -1;
  edgetpu_device_type type = EDGETPU_APEX_USB;
  std::string path;     // The device this delegate opened.
  int need_runtime = 0;  // The newest min_runtime_version of the packages it claimed.
};

int OwnRuntimeVersion() { return std::atoi(Env("REEF_STANDIN_RUNTIME", "14")); }

// --- min_runtime_version of an edgetpu-custom-op's options -------------------------------------
// The options are a FlexBuffer map; key "4" holds the executable package (a string or a blob: both
// are size-prefixed bytes), a FlatBuffer whose root
// table's field 0 is min_runtime_version (libedgetpu executable.fbs). Returns 0 when unreadable.
uint64_t ReadUInt(const uint8_t* p, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

int PackageMinRuntime(const uint8_t* opts, size_t size) {
  if (opts == nullptr || size < 3) return 0;
  const int root_width = opts[size - 1];
  const uint8_t root_type = opts[size - 2];
  if ((root_type >> 2) != 9 /* FBT_MAP */ || root_width < 1 || size < static_cast<size_t>(2 + root_width)) return 0;
  const uint8_t* root = opts + size - 2 - root_width;
  const uint8_t* map = root - ReadUInt(root, root_width);
  const int w = 1 << (root_type & 3);
  if (map - 3 * w < opts || map >= opts + size) return 0;
  const uint64_t n = ReadUInt(map - w, w);
  const uint8_t* keys_at = map - 3 * w;
  const uint8_t* keys = keys_at - ReadUInt(keys_at, w);
  const int kw = static_cast<int>(ReadUInt(map - 2 * w, w));
  if (keys < opts || kw < 1 || map + n * w + n > opts + size) return 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint8_t* key_at = keys + i * kw;
    const char* key = reinterpret_cast<const char*>(key_at - ReadUInt(key_at, kw));
    if (reinterpret_cast<const uint8_t*>(key) < opts || std::strcmp(key, "4") != 0) continue;
    const uint8_t* value_at = map + i * w;
    const uint8_t packed = map[n * w + i];
    if ((packed >> 2) != 5 /* FBT_STRING, as edgetpu_compiler writes it */ && (packed >> 2) != 25 /* FBT_BLOB */) return 0;
    const uint8_t* blob = value_at - ReadUInt(value_at, w);
    const int bw = 1 << (packed & 3);
    const uint64_t blob_size = ReadUInt(blob - bw, bw);
    if (blob < opts || blob + blob_size > opts + size || blob_size < 8) return 0;
    const uint8_t* table = blob + ReadUInt(blob, 4);
    const uint8_t* vtable = table - static_cast<int32_t>(ReadUInt(table, 4));
    if (vtable < blob || vtable + 6 > blob + blob_size) return 0;
    const uint64_t field = ReadUInt(vtable + 4, 2);
    return ReadUInt(vtable, 2) > 4 && field != 0 ? static_cast<int>(ReadUInt(table + field, 4)) : 0;
  }
  return 0;
}

bool DevicePresent(const StandinDelegate* d);

bool LoadTwin(StandinDelegate* d, TfLiteContext* context) {
  if (d->twin != nullptr) return true;
  void* h = dlopen(Env("REEF_STANDIN_TFLITE", "libtensorflowlite_c.so"), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    context->ReportError(context, "edgetpu stand-in: cannot open TFLite: %s", dlerror());
    return false;
  }
#define SYM(field, name) d->tfl.field = reinterpret_cast<decltype(d->tfl.field)>(dlsym(h, name))
  SYM(ModelCreateFromFile, "TfLiteModelCreateFromFile");
  SYM(InterpreterCreate, "TfLiteInterpreterCreate");
  SYM(AllocateTensors, "TfLiteInterpreterAllocateTensors");
  SYM(Invoke, "TfLiteInterpreterInvoke");
  SYM(InputCount, "TfLiteInterpreterGetInputTensorCount");
  SYM(Input, "TfLiteInterpreterGetInputTensor");
  SYM(OutputCount, "TfLiteInterpreterGetOutputTensorCount");
  SYM(Output, "TfLiteInterpreterGetOutputTensor");
  SYM(ByteSize, "TfLiteTensorByteSize");
  SYM(Data, "TfLiteTensorData");
#undef SYM
  const char* twin = Env("REEF_STANDIN_TWIN", "");
  TfLiteModel* m = d->tfl.ModelCreateFromFile(twin);
  if (m == nullptr) {
    context->ReportError(context, "edgetpu stand-in: cannot read the CPU twin '%s' (REEF_STANDIN_TWIN)", twin);
    return false;
  }
  d->twin = d->tfl.InterpreterCreate(m, nullptr);  // The model is leaked with the twin: test only.
  return d->twin != nullptr && d->tfl.AllocateTensors(d->twin) == kTfLiteOk;
}

struct Kernel {
  StandinDelegate* delegate;
  std::vector<int> inputs;
  std::vector<int> outputs;
};

void* KernelInit(TfLiteContext* context, const char* buffer, size_t) {
  const auto* params = reinterpret_cast<const TfLiteDelegateParams*>(buffer);
  auto* k = new Kernel{reinterpret_cast<StandinDelegate*>(params->delegate), {}, {}};
  for (int i = 0; i < params->input_tensors->size; ++i) {
    int t = params->input_tensors->data[i];
    if (context->tensors[t].allocation_type != kTfLiteMmapRo) k->inputs.push_back(t);  // Activations only.
  }
  for (int i = 0; i < params->output_tensors->size; ++i) k->outputs.push_back(params->output_tensors->data[i]);
  return k;
}

void KernelFree(TfLiteContext*, void* buffer) { delete reinterpret_cast<Kernel*>(buffer); }

TfLiteStatus KernelPrepare(TfLiteContext* context, TfLiteNode* node) {
  const StandinDelegate* d = reinterpret_cast<Kernel*>(node->user_data)->delegate;
  if (d->need_runtime > OwnRuntimeVersion()) {  // The real runtime's words (google-coral/edgetpu#435).
    context->ReportError(context, "Failed to prepare for TPU. Failed precondition: Package requires runtime version (%d), which is newer than this runtime version (%d).",
                         d->need_runtime, OwnRuntimeVersion());
    return kTfLiteError;
  }
  return kTfLiteOk;
}

TfLiteStatus KernelInvoke(TfLiteContext* context, TfLiteNode* node) {
  auto* k = reinterpret_cast<Kernel*>(node->user_data);
  StandinDelegate* d = k->delegate;
  // A stuck device: the call does not come back until the test lets it (bounded: 10 minutes).
  for (int waited = 0; StateSays(State(), "hang") && waited < 60000; ++waited) usleep(10000);
  if ((d->fail_after >= 0 && d->invokes >= d->fail_after) || !DevicePresent(d)) {
    context->ReportError(context, "Failed to execute request. USB transfer error 2 [LibUsbDataInCallback]");
    return kTfLiteError;
  }
  ++d->invokes;
  if (!LoadTwin(d, context)) return kTfLiteError;
  if (static_cast<int>(k->inputs.size()) != d->tfl.InputCount(d->twin) ||
      static_cast<int>(k->outputs.size()) != d->tfl.OutputCount(d->twin)) {
    context->ReportError(context, "edgetpu stand-in: the CPU twin's inputs/outputs do not match the compiled op's");
    return kTfLiteError;
  }
  for (size_t i = 0; i < k->inputs.size(); ++i) {
    TfLiteTensor* src = &context->tensors[k->inputs[i]];
    TfLiteTensor* dst = d->tfl.Input(d->twin, static_cast<int>(i));
    if (src->bytes != d->tfl.ByteSize(dst)) return kTfLiteError;
    std::memcpy(d->tfl.Data(dst), src->data.raw, src->bytes);
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (d->tfl.Invoke(d->twin) != kTfLiteOk) return kTfLiteError;
  if (std::strcmp(Env("REEF_STANDIN_USB2", "0"), "1") == 0) {
    std::this_thread::sleep_for(2 * (std::chrono::steady_clock::now() - t0));
  }
  for (size_t i = 0; i < k->outputs.size(); ++i) {
    const TfLiteTensor* src = d->tfl.Output(d->twin, static_cast<int>(i));
    TfLiteTensor* dst = &context->tensors[k->outputs[i]];
    if (dst->bytes != d->tfl.ByteSize(src)) return kTfLiteError;
    std::memcpy(dst->data.raw, d->tfl.Data(src), dst->bytes);
  }
  return kTfLiteOk;
}

TfLiteStatus DelegatePrepare(TfLiteContext* context, TfLiteDelegate* delegate) {
  TfLiteIntArray* plan = nullptr;
  if (context->GetExecutionPlan(context, &plan) != kTfLiteOk) return kTfLiteError;
  std::vector<int> claimed;
  for (int i = 0; i < plan->size; ++i) {
    TfLiteNode* node;
    TfLiteRegistration* reg;
    if (context->GetNodeAndRegistration(context, plan->data[i], &node, &reg) != kTfLiteOk) return kTfLiteError;
    if (reg->builtin_code == 32 /* kTfLiteBuiltinCustom */ && reg->custom_name != nullptr &&
        std::strcmp(reg->custom_name, "edgetpu-custom-op") == 0) {
      claimed.push_back(plan->data[i]);
      auto* d = reinterpret_cast<StandinDelegate*>(delegate);
      const int need = PackageMinRuntime(static_cast<const uint8_t*>(node->custom_initial_data),
                                         static_cast<size_t>(node->custom_initial_data_size));
      if (need > d->need_runtime) d->need_runtime = need;
    }
  }
  if (claimed.empty()) return kTfLiteOk;
  static TfLiteRegistration kernel = [] {
    TfLiteRegistration r{};
    r.init = KernelInit;
    r.free = KernelFree;
    r.prepare = KernelPrepare;
    r.invoke = KernelInvoke;
    r.custom_name = "edgetpu-standin";
    r.version = 1;
    return r;
  }();
  // A TfLiteIntArray built here: the stand-in links nothing from TFLite (it is loaded privately).
  std::vector<int> storage(claimed.size() + 1);
  storage[0] = static_cast<int>(claimed.size());
  for (size_t i = 0; i < claimed.size(); ++i) storage[i + 1] = claimed[i];
  return context->ReplaceNodeSubsetsWithDelegateKernels(
      context, kernel, reinterpret_cast<TfLiteIntArray*>(storage.data()), delegate);
}

std::string g_version;

bool DevicePresent(const StandinDelegate* d) {
  for (const Listed& l : Devices()) {
    if (l.type == d->type && l.path == d->path) return true;
  }
  return false;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) const char* edgetpu_version() {
  g_version = Env("REEF_STANDIN_VERSION", "");
  if (g_version.empty()) g_version = std::string("BuildLabel(reef-standin), RuntimeVersion(") + Env("REEF_STANDIN_RUNTIME", "14") + ")";
  return g_version.c_str();
}

__attribute__((visibility("default"))) void edgetpu_verbosity(int) {}

__attribute__((visibility("default"))) struct edgetpu_device* edgetpu_list_devices(size_t* num_devices) {
  std::vector<Listed> list = Devices();
  *num_devices = list.size();
  if (list.empty()) return nullptr;
  auto* out = static_cast<edgetpu_device*>(std::calloc(list.size(), sizeof(edgetpu_device)));
  for (size_t i = 0; i < list.size(); ++i) out[i] = {list[i].type, strdup(list[i].path.c_str())};
  return out;
}

__attribute__((visibility("default"))) void edgetpu_free_devices(struct edgetpu_device* dev) {
  std::free(dev);  // The path strings are small and leaked: test only.
}

__attribute__((visibility("default"))) TfLiteDelegate* edgetpu_create_delegate(
    enum edgetpu_device_type type, const char* name, const struct edgetpu_option*, size_t) {
  const Listed* found = nullptr;
  // "busy": listed but cannot be opened, as a device held by another process.
  if (StateSays(State(), "busy")) return nullptr;
  const std::vector<Listed> devices = Devices();
  for (const Listed& l : devices) {
    if (found == nullptr && l.type == type && (name == nullptr || *name == '\0' || l.path == name)) found = &l;
  }
  if (found == nullptr) return nullptr;
  auto* d = new StandinDelegate();
  d->type = found->type;
  d->path = found->path;
  d->base.data_ = d;
  d->base.Prepare = DelegatePrepare;
  // As the real delegate: without this flag TFLite prepares every op (the unresolved custom op
  // included, which fails) before the delegate can claim it.
  d->base.flags = kTfLiteDelegateFlagsAllowDynamicTensors;
  d->fail_after = std::atol(Env("REEF_STANDIN_FAIL_AFTER", "-1"));
  return &d->base;
}

__attribute__((visibility("default"))) void edgetpu_free_delegate(TfLiteDelegate* delegate) {
  delete reinterpret_cast<StandinDelegate*>(delegate);  // The twin is leaked: test only.
}

}  // extern "C"
