/*
 * A second way to TensorFlow Lite's own answer, for models whose output shapes are known only
 * after invoke (tfjs-tflite-node's binding sizes its output arrays before invoke and overruns them).
 * Plain TFLite C API, built-in kernels, one thread; nothing of reef.
 *   tflite_ref MODEL OUTDIR [INPUT.bin ...]
 * Writes OUTDIR/out<i>.bin and prints {"outputs":[{"name":"...","type":N,"shape":[...]}]}, or
 * {"error":"..."} with exit status 1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorflow/lite/c/c_api.h"

static char g_log[4096];

static void Reporter(void* user, const char* format, va_list args) {
  (void)user;
  size_t n = strlen(g_log);
  if (n + 2 < sizeof g_log) {
    vsnprintf(g_log + n, sizeof g_log - n - 1, format, args);
    strncat(g_log, " ", sizeof g_log - strlen(g_log) - 1);
  }
}

static int Fail(const char* what) {
  printf("{\"error\":\"%s: ", what);
  for (const char* p = g_log; *p; ++p) putchar(*p == '"' || *p == '\\' || *p == '\n' ? ' ' : *p);
  printf("\"}\n");
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 3) return Fail("usage: tflite_ref MODEL OUTDIR [INPUT.bin ...]");
  TfLiteModel* model = TfLiteModelCreateFromFile(argv[1]);
  if (!model) return Fail("cannot read the model");
  TfLiteInterpreterOptions* options = TfLiteInterpreterOptionsCreate();
  TfLiteInterpreterOptionsSetNumThreads(options, 1);
  TfLiteInterpreterOptionsSetErrorReporter(options, Reporter, NULL);
  TfLiteInterpreter* interp = TfLiteInterpreterCreate(model, options);
  if (!interp) return Fail("interpreter");
  if (TfLiteInterpreterAllocateTensors(interp) != kTfLiteOk) return Fail("allocate");
  int n_in = TfLiteInterpreterGetInputTensorCount(interp);
  for (int i = 0; i < n_in && 3 + i < argc; ++i) {
    TfLiteTensor* t = TfLiteInterpreterGetInputTensor(interp, i);
    size_t size = TfLiteTensorByteSize(t);
    void* data = calloc(1, size ? size : 1);
    FILE* f = fopen(argv[3 + i], "rb");
    if (!f || fread(data, 1, size, f) != size) return Fail("input file shorter than the input");
    fclose(f);
    if (TfLiteTensorCopyFromBuffer(t, data, size) != kTfLiteOk) return Fail("copy input");
    free(data);
  }
  if (TfLiteInterpreterInvoke(interp) != kTfLiteOk) return Fail("invoke");
  int n_out = TfLiteInterpreterGetOutputTensorCount(interp);
  printf("{\"outputs\":[");
  for (int i = 0; i < n_out; ++i) {
    const TfLiteTensor* t = TfLiteInterpreterGetOutputTensor(interp, i);
    char path[4096];
    snprintf(path, sizeof path, "%s/out%d.bin", argv[2], i);
    FILE* f = fopen(path, "wb");
    if (!f) return Fail("cannot write an output");
    fwrite(TfLiteTensorData(t), 1, TfLiteTensorByteSize(t), f);
    fclose(f);
    printf("%s{\"name\":\"%s\",\"type\":%d,\"shape\":[", i ? "," : "", TfLiteTensorName(t), (int)TfLiteTensorType(t));
    for (int d = 0; d < TfLiteTensorNumDims(t); ++d) printf("%s%d", d ? "," : "", TfLiteTensorDim(t, d));
    printf("]}");
  }
  printf("]}\n");
  TfLiteInterpreterDelete(interp);
  TfLiteInterpreterOptionsDelete(options);
  TfLiteModelDelete(model);
  return 0;
}
