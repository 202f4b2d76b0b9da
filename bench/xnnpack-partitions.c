/*
 * Which operators of a .tflite model TFLite's XNNPACK delegate takes (bench:onnx).
 *
 * Builds the interpreter with the XNNPACK delegate (QS8 on, 1 thread), exactly as reef's runtime
 * does, but wraps the delegate's Prepare: after XNNPACK has replaced the node subsets it takes,
 * the execution plan holds the original indices of the nodes left to TFLite's own kernels plus
 * one new node per delegate partition. Prints JSON: {"nodes":N,"partitions":P,"cpu":[i,...]}.
 * Usage: xnnpack-partitions model.tflite
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tensorflow/lite/c/c_api.h"
#include "tensorflow/lite/c/common.h"

/* TfLiteXNNPackDelegateOptions of TFLite 2.9 (the header is not shipped with the C library). */
typedef struct { int32_t num_threads; uint32_t flags; void* weights_cache; } XnnpackOptions;
extern TfLiteDelegate* TfLiteXNNPackDelegateCreate(const XnnpackOptions* options);
extern void TfLiteXNNPackDelegateDelete(TfLiteDelegate* delegate);

static TfLiteStatus (*original_prepare)(TfLiteContext*, TfLiteDelegate*);
static int before = -1, after_size = -1, partitions = 0;
static int* cpu = NULL;
static int cpu_count = 0;

static TfLiteStatus prepare(TfLiteContext* context, TfLiteDelegate* delegate) {
  TfLiteIntArray* plan = NULL;
  if (context->GetExecutionPlan(context, &plan) != kTfLiteOk) return kTfLiteError;
  before = plan->size;
  const TfLiteStatus status = original_prepare(context, delegate);
  if (status != kTfLiteOk) return status;
  if (context->GetExecutionPlan(context, &plan) != kTfLiteOk) return kTfLiteError;
  after_size = plan->size;
  cpu = malloc(sizeof(int) * (size_t)(plan->size + 1));
  for (int i = 0; i < plan->size; i++) {
    if (plan->data[i] >= before) partitions++;
    else cpu[cpu_count++] = plan->data[i];
  }
  return kTfLiteOk;
}

int main(int argc, char** argv) {
  if (argc != 2) { fprintf(stderr, "usage: xnnpack-partitions model.tflite\n"); return 2; }
  TfLiteModel* model = TfLiteModelCreateFromFile(argv[1]);
  if (!model) { fprintf(stderr, "cannot read %s\n", argv[1]); return 1; }
  XnnpackOptions xo = { 1, 0x1 /* QS8 */, NULL };
  TfLiteDelegate* xnnpack = TfLiteXNNPackDelegateCreate(&xo);
  original_prepare = xnnpack->Prepare;
  xnnpack->Prepare = prepare;
  TfLiteInterpreterOptions* options = TfLiteInterpreterOptionsCreate();
  TfLiteInterpreterOptionsSetNumThreads(options, 1);
  TfLiteInterpreterOptionsAddDelegate(options, xnnpack);
  TfLiteInterpreter* interpreter = TfLiteInterpreterCreate(model, options);
  if (!interpreter || before < 0) { fprintf(stderr, "the interpreter could not be built\n"); return 1; }
  printf("{\"nodes\":%d,\"partitions\":%d,\"cpu\":[", before, partitions);
  for (int i = 0; i < cpu_count; i++) printf(i ? ",%d" : "%d", cpu[i]);
  printf("]}\n");
  TfLiteInterpreterDelete(interpreter);
  TfLiteInterpreterOptionsDelete(options);
  TfLiteXNNPackDelegateDelete(xnnpack);
  TfLiteModelDelete(model);
  return 0;
}
