#include "preprocess.h"

// The results must equal the TypeScript path's bit for bit: no fused multiply-add.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace reef {
namespace {

bool IsInt(double v, double lo, double hi) { return v >= lo && v <= hi && v == std::floor(v); }

// JavaScript's Math.round: halves go up.
inline double RoundHalfUp(double v) { return std::floor(v + 0.5); }

}  // namespace

bool ReadFrameSpec(const double* v, size_t count, size_t frame_bytes, size_t input_bytes,
                   FrameSpec* s, std::string* error) {
  if (count != kFrameSpecLength) {
    *error = "frame spec must hold " + std::to_string(kFrameSpecLength) + " numbers";
    return false;
  }
  const double kMaxSide = 1 << 15;
  for (int i : {0, 1, 11, 12}) {
    if (!IsInt(v[i], 1, kMaxSide)) { *error = "frame spec: sizes must be integers from 1 to 32768"; return false; }
  }
  for (int i : {2, 13}) {
    if (v[i] != 1 && v[i] != 3) { *error = "frame spec: channels must be 1 or 3"; return false; }
  }
  s->src_width = static_cast<int32_t>(v[0]);
  s->src_height = static_cast<int32_t>(v[1]);
  s->src_channels = static_cast<int32_t>(v[2]);
  s->crop_x = v[3]; s->crop_y = v[4]; s->crop_w = v[5]; s->crop_h = v[6];
  s->in_width = static_cast<int32_t>(v[11]);
  s->in_height = static_cast<int32_t>(v[12]);
  s->in_channels = static_cast<int32_t>(v[13]);
  if (!(s->crop_x >= 0 && s->crop_y >= 0 && s->crop_w > 0 && s->crop_h > 0 &&
        s->crop_x + s->crop_w <= s->src_width + 1e-6 && s->crop_y + s->crop_h <= s->src_height + 1e-6)) {
    *error = "frame spec: the crop must lie inside the frame";
    return false;
  }
  if (!IsInt(v[7], 0, v[11] - 1) || !IsInt(v[8], 0, v[12] - 1) || !IsInt(v[9], 1, v[11] - v[7]) ||
      !IsInt(v[10], 1, v[12] - v[8])) {
    *error = "frame spec: the target region must lie inside the input";
    return false;
  }
  s->dst_x = static_cast<int32_t>(v[7]); s->dst_y = static_cast<int32_t>(v[8]);
  s->dst_w = static_cast<int32_t>(v[9]); s->dst_h = static_cast<int32_t>(v[10]);
  if (!IsInt(v[14], 0, 1) || !IsInt(v[15], 0, 255) || !IsInt(v[16], 0, 1) || !IsInt(v[17], 0, 1) ||
      !IsInt(v[18], 0, 2) || !IsInt(v[19], 0, 2)) {
    *error = "frame spec: filter, pad, bgr, layout, dtype or feed out of range";
    return false;
  }
  s->filter = static_cast<int32_t>(v[14]);
  s->pad = static_cast<int32_t>(v[15]);
  s->bgr = v[16] == 1;
  s->nchw = v[17] == 1;
  s->dtype = static_cast<int32_t>(v[18]);
  s->feed = static_cast<int32_t>(v[19]);
  for (int c = 0; c < 3; ++c) {
    s->mean[c] = v[20 + c];
    s->std[c] = v[23 + c];
    if (!std::isfinite(s->mean[c]) || !std::isfinite(s->std[c]) || s->std[c] == 0) {
      *error = "frame spec: mean and std must be finite, std non-zero";
      return false;
    }
  }
  s->scale = v[26];
  if (!IsInt(v[27], -2147483648.0, 2147483647.0)) { *error = "frame spec: zero point must be an integer"; return false; }
  s->zero_point = static_cast<int32_t>(v[27]);
  if ((s->feed == 0) != (s->dtype == 0) || (s->feed == 1 && s->dtype != 1) ||
      (s->feed == 2 && !(s->scale > 0 && std::isfinite(s->scale)))) {
    *error = "frame spec: the feed does not fit the dtype (float32: float; uint8: raw or quantized; int8: quantized with a scale)";
    return false;
  }
  if (s->src_channels != s->in_channels) { *error = "frame spec: the frame's channels must be the input's"; return false; }
  const size_t frame = static_cast<size_t>(s->src_width) * s->src_height * s->src_channels;
  if (frame != frame_bytes) {
    *error = "the frame holds " + std::to_string(frame_bytes) + " bytes; " + std::to_string(s->src_width) + "x" +
             std::to_string(s->src_height) + "x" + std::to_string(s->src_channels) + " needs " + std::to_string(frame);
    return false;
  }
  const size_t elems = static_cast<size_t>(s->in_width) * s->in_height * s->in_channels;
  if (elems * (s->dtype == 0 ? 4 : 1) != input_bytes) {
    *error = "the input tensor holds " + std::to_string(input_bytes) + " bytes, not " + std::to_string(s->in_width) + "x" +
             std::to_string(s->in_height) + "x" + std::to_string(s->in_channels) + (s->dtype == 0 ? " float32" : " 8-bit");
    return false;
  }
  return true;
}

void PreprocessFrame(const FrameSpec& s, const uint8_t* px, void* out) {
  const int32_t ch = s.in_channels;
  const int32_t sw = s.src_width, sh = s.src_height;
  const size_t n = static_cast<size_t>(s.in_width) * s.in_height * ch;
  thread_local std::vector<uint8_t> resized;
  thread_local std::vector<int32_t> x0, x1;
  thread_local std::vector<double> wx;
  resized.assign(n, static_cast<uint8_t>(s.pad));
  x0.resize(s.dst_w); x1.resize(s.dst_w); wx.resize(s.dst_w);
  const double fx = s.crop_w / s.dst_w;
  const double fy = s.crop_h / s.dst_h;
  const bool nearest = s.filter == 1;
  for (int32_t i = 0; i < s.dst_w; ++i) {
    double x = nearest ? std::floor(s.crop_x + (i + 0.5) * fx) : s.crop_x + (i + 0.5) * fx - 0.5;
    x = std::min(std::max(x, 0.0), static_cast<double>(sw - 1));
    x0[i] = static_cast<int32_t>(std::floor(x));
    x1[i] = std::min(x0[i] + 1, sw - 1);
    wx[i] = x - x0[i];
  }
  for (int32_t j = 0; j < s.dst_h; ++j) {
    double y = nearest ? std::floor(s.crop_y + (j + 0.5) * fy) : s.crop_y + (j + 0.5) * fy - 0.5;
    y = std::min(std::max(y, 0.0), static_cast<double>(sh - 1));
    const int32_t y0 = static_cast<int32_t>(std::floor(y));
    const int32_t y1 = std::min(y0 + 1, sh - 1);
    const double wy = y - y0;
    const uint8_t* r0 = px + static_cast<size_t>(y0) * sw * ch;
    const uint8_t* r1 = px + static_cast<size_t>(y1) * sw * ch;
    uint8_t* o = resized.data() + (static_cast<size_t>(s.dst_y + j) * s.in_width + s.dst_x) * ch;
    for (int32_t i = 0; i < s.dst_w; ++i) {
      const int32_t a = x0[i] * ch, b = x1[i] * ch;
      const double w = wx[i];
      for (int32_t c = 0; c < ch; ++c) {
        const double top = r0[a + c] + (r0[b + c] - r0[a + c]) * w;
        const double bot = r1[a + c] + (r1[b + c] - r1[a + c]) * w;
        *o++ = static_cast<uint8_t>(RoundHalfUp(top + (bot - top) * wy));
      }
    }
  }
  if (s.bgr && ch == 3) {
    for (size_t i = 0; i < n; i += 3) std::swap(resized[i], resized[i + 2]);
  }
  // Element i of the HWC image goes to position i (NHWC) or c * plane + p (NCHW).
  const size_t plane = static_cast<size_t>(s.in_width) * s.in_height;
  auto at = [&](size_t i) { return s.nchw ? (i % ch) * plane + i / ch : i; };
  if (s.feed == 1) {
    uint8_t* dst = static_cast<uint8_t*>(out);
    if (!s.nchw) std::memcpy(dst, resized.data(), n);
    else for (size_t i = 0; i < n; ++i) dst[at(i)] = resized[i];
  } else if (s.feed == 0) {
    float* dst = static_cast<float*>(out);
    for (size_t i = 0; i < n; ++i) {
      const size_t c = i % ch;
      dst[at(i)] = static_cast<float>((resized[i] - s.mean[c]) / s.std[c]);
    }
  } else {
    const double lo = s.dtype == 1 ? 0 : -128, hi = s.dtype == 1 ? 255 : 127;
    for (size_t i = 0; i < n; ++i) {
      const size_t c = i % ch;
      const double real = (resized[i] - s.mean[c]) / s.std[c];
      double q = RoundHalfUp(real / s.scale) + s.zero_point;
      q = q < lo ? lo : q > hi ? hi : q;
      if (s.dtype == 1) static_cast<uint8_t*>(out)[at(i)] = static_cast<uint8_t>(q);
      else static_cast<int8_t*>(out)[at(i)] = static_cast<int8_t>(q);
    }
  }
}

}  // namespace reef
