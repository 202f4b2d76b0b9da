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
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
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

struct Listed {
  edgetpu_device_type type;
  std::string path;
};

std::vector<Listed> Devices() {
  std::vector<Listed> out;
  std::string spec = Env("REEF_STANDIN_DEVICES", "");
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
};

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

TfLiteStatus KernelPrepare(TfLiteContext*, TfLiteNode*) { return kTfLiteOk; }

TfLiteStatus KernelInvoke(TfLiteContext* context, TfLiteNode* node) {
  auto* k = reinterpret_cast<Kernel*>(node->user_data);
  StandinDelegate* d = k->delegate;
  if (d->fail_after >= 0 && d->invokes >= d->fail_after) {
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
  if (d->tfl.Invoke(d->twin) != kTfLiteOk) return kTfLiteError;
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

}  // namespace

extern "C" {

__attribute__((visibility("default"))) const char* edgetpu_version() {
  g_version = std::string("BuildLabel(reef-standin), RuntimeVersion(") + Env("REEF_STANDIN_RUNTIME", "14") + ")";
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
  bool found = false;
  for (const Listed& d : Devices()) {
    if (d.type == type && (name == nullptr || *name == '\0' || d.path == name)) found = true;
  }
  if (!found) return nullptr;
  auto* d = new StandinDelegate();
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
