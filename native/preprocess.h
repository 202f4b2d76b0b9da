// Camera-frame pre-processing on the runner thread: raw interleaved 8-bit pixels (RGB or gray, the
// frame's own size) resized into a model input and converted to its dtype, written straight into
// the input tensor. The arithmetic is the TypeScript path's (src/tasks/resize.ts resizePixels,
// src/image/preprocess.ts pixelsToInput) step for step, so both give the same bytes: bilinear with
// half-pixel centres and no antialiasing (or nearest), rounded to 8 bits; letterbox padding; BGR
// swap; (p - mean) / std for float inputs, that value quantized with the input's scale and zero
// point (round half up, clamped) for quantized ones, or the pixels as they are ("raw").
//
// Pure functions: no JS, no TFLite, no allocation beyond a per-thread scratch buffer. Thread-safe.
#ifndef REEF_NATIVE_PREPROCESS_H_
#define REEF_NATIVE_PREPROCESS_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace reef {

// What one frame becomes. Read from the Float64Array src/native.ts documents (kFrameSpecLength
// numbers, in the order of the fields below).
struct FrameSpec {
  int32_t src_width, src_height, src_channels;  // The frame (channels 1 or 3, = in_channels).
  double crop_x, crop_y, crop_w, crop_h;        // The part of the frame used (frame pixels).
  int32_t dst_x, dst_y, dst_w, dst_h;           // Where it lands in the input (the rest is pad).
  int32_t in_width, in_height, in_channels;
  int32_t filter;                               // 0 bilinear, 1 nearest.
  int32_t pad;                                  // 0..255
  bool bgr;
  bool nchw;
  int32_t dtype;                                // 0 float32, 1 uint8, 2 int8.
  int32_t feed;                                 // 0 float, 1 raw pixels, 2 quantized.
  double mean[3], std[3];
  double scale;
  int32_t zero_point;
};

constexpr size_t kFrameSpecLength = 28;

// Checks and reads a spec against the frame's and the input tensor's byte sizes; false with *error
// set when something does not fit.
bool ReadFrameSpec(const double* values, size_t count, size_t frame_bytes, size_t input_bytes,
                   FrameSpec* spec, std::string* error);

// Writes the input tensor's bytes (`out`, exactly the size ReadFrameSpec checked) from `frame`.
void PreprocessFrame(const FrameSpec& spec, const uint8_t* frame, void* out);

}  // namespace reef

#endif  // REEF_NATIVE_PREPROCESS_H_
