/**
 * Every op reef converts, against ONNX's own conformance cases (Debian's libonnx-testdata):
 * each case is converted, run through reef's TFLite runtime and compared with the reference
 * outputs stored with it (|diff| <= 1e-4 + 1e-3 |ref|). Cases reef refuses are listed with the
 * exact message a user gets; cases whose data input is not float32 (reef converts float models)
 * are counted as skipped.
 */
import { describe, expect, it } from 'vitest';
import { listCases, runCase, type Outcome } from './conformance.js';

/** The ops the converter supports, as libonnx-testdata names their cases. */
const CASES = /^test_(basic_conv|conv|convtranspose|gemm|matmul|batchnorm|relu|clip|leakyrelu|prelu|sigmoid|hardsigmoid|hardswish|tanh|softmax|exp|maxpool|averagepool|globalaveragepool|globalmaxpool|reduce_mean|add|sub|mul|div|sqrt|pow|max|min|reshape|flatten|transpose|concat|split|slice|squeeze|unsqueeze|gather|shape|constant|constantofshape|identity|dropout|expand|cast|range|pad|resize|upsample|edge_pad|reflect_pad)(_|$)/;

/** Refused, with the message the user sees (1-D/3-D pooling, cubic resize, training-mode outputs...). */
const REFUSED: Record<string, string> = {
  test_averagepool_1d_default: "ONNX op AveragePool (node 0 ''): AveragePool on a 3-D input (reef converts 2-D AveragePools, NCHW)",
  test_averagepool_2d_pads: "ONNX op AveragePool (node 0 ''): padding [2,2,2,2] that is not SAME with count_include_pad=0",
  test_averagepool_2d_precomputed_pads_count_include_pad: "ONNX op AveragePool (node 0 ''): count_include_pad=1 with SAME padding",
  test_averagepool_2d_same_lower: "ONNX op AveragePool (node 0 ''): padding [1,1,0,0] that is not SAME with count_include_pad=0",
  test_averagepool_3d_default: "ONNX op AveragePool (node 0 ''): AveragePool on a 5-D input (reef converts 2-D AveragePools, NCHW)",
  test_batchnorm_epsilon_training_mode: "ONNX op BatchNormalization (node 0 ''): training mode (the running mean/variance outputs are used)",
  test_batchnorm_example_training_mode: "ONNX op BatchNormalization (node 0 ''): training mode (the running mean/variance outputs are used)",
  test_cast_FLOAT_to_BFLOAT16: "ONNX op Cast (node 0 ''): cast to type 16",
  test_cast_FLOAT_to_STRING: "ONNX op Cast (node 0 ''): cast to type 8",
  test_convtranspose_1d: "ONNX op ConvTranspose (node 0 ''): transposed convolution on a 3-D input (reef converts 2-D transposed convolutions, NCHW)",
  test_convtranspose_3d: "ONNX op ConvTranspose (node 0 ''): transposed convolution on a 5-D input (reef converts 2-D transposed convolutions, NCHW)",
  test_convtranspose_dilations: "ONNX op ConvTranspose (node 0 ''): dilations [2,2]",
  test_dropout_default_mask: "ONNX op Dropout (node 0 ''): the Dropout mask output is used",
  test_dropout_default_mask_ratio: "ONNX op Dropout (node 0 ''): the Dropout mask output is used",
  test_gather_elements_0: "ONNX op GatherElements (node 0 '') is not supported by reef convert",
  test_gather_elements_1: "ONNX op GatherElements (node 0 '') is not supported by reef convert",
  test_gather_elements_negative_indices: "ONNX op GatherElements (node 0 '') is not supported by reef convert",
  test_maxpool_1d_default: "ONNX op MaxPool (node 0 ''): MaxPool on a 3-D input (reef converts 2-D MaxPools, NCHW)",
  test_maxpool_2d_dilations: "ONNX op MaxPool (node 0 ''): dilations [2,2]",
  test_maxpool_3d_default: "ONNX op MaxPool (node 0 ''): MaxPool on a 5-D input (reef converts 2-D MaxPools, NCHW)",
  test_maxpool_with_argmax_2d_precomputed_pads: "ONNX op MaxPool (node 0 ''): the Indices output of MaxPool",
  test_maxpool_with_argmax_2d_precomputed_strides: "ONNX op MaxPool (node 0 ''): the Indices output of MaxPool",
  test_range_float_type_positive_delta: "ONNX op Range (node 0 '') is not supported by reef convert",
  test_range_float_type_positive_delta_expanded: "ONNX op Loop (node 8 '') is not supported by reef convert",
  test_reshape_allowzero_reordered: "Input 'data' has a zero-sized dimension [0,3,4]; TFLite cannot run empty tensors",
  test_resize_downsample_scales_cubic: "ONNX op Resize (node 0 ''): scales [1,1,0.800000011920929,0.800000011920929] give a fractional output size from [1,1,4,4] (TFLite maps coordinates by the size ratio)",
  test_resize_downsample_scales_cubic_A_n0p5_exclude_outside: "ONNX op Resize (node 0 ''): scales [1,1,0.800000011920929,0.800000011920929] give a fractional output size from [1,1,4,4] (TFLite maps coordinates by the size ratio)",
  test_resize_downsample_scales_cubic_align_corners: "ONNX op Resize (node 0 ''): scales [1,1,0.800000011920929,0.800000011920929] give a fractional output size from [1,1,4,4] (TFLite maps coordinates by the size ratio)",
  test_resize_downsample_scales_linear: "ONNX op Resize (node 0 ''): scales [1,1,0.6000000238418579,0.6000000238418579] give a fractional output size from [1,1,2,4] (TFLite maps coordinates by the size ratio)",
  test_resize_downsample_scales_linear_align_corners: "ONNX op Resize (node 0 ''): scales [1,1,0.6000000238418579,0.6000000238418579] give a fractional output size from [1,1,2,4] (TFLite maps coordinates by the size ratio)",
  test_resize_downsample_scales_nearest: "ONNX op Resize (node 0 ''): scales [1,1,0.6000000238418579,0.6000000238418579] give a fractional output size from [1,1,2,4] (TFLite maps coordinates by the size ratio)",
  test_resize_downsample_sizes_cubic: "ONNX op Resize (node 0 ''): mode 'cubic'",
  test_resize_downsample_sizes_linear_pytorch_half_pixel: "ONNX op Resize (node 0 ''): linear resize with coordinate_transformation_mode 'pytorch_half_pixel'",
  test_resize_downsample_sizes_nearest: "ONNX op Resize (node 0 ''): nearest resize with coordinate_transformation_mode 'half_pixel' and nearest_mode 'round_prefer_floor' (TFLite rounds half_pixel up, asymmetric down)",
  test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn: "ONNX op Resize (node 2 ''): nearest resize with coordinate_transformation_mode 'tf_half_pixel_for_nn' and nearest_mode 'round_prefer_floor' (TFLite rounds half_pixel up, asymmetric down)",
  test_resize_tf_crop_and_resize: "ONNX op Resize (node 0 ''): linear resize with coordinate_transformation_mode 'tf_crop_and_resize'",
  test_resize_upsample_scales_cubic: "ONNX op Resize (node 0 ''): mode 'cubic'",
  test_resize_upsample_scales_cubic_A_n0p5_exclude_outside: "ONNX op Resize (node 0 ''): mode 'cubic'",
  test_resize_upsample_scales_cubic_align_corners: "ONNX op Resize (node 0 ''): mode 'cubic'",
  test_resize_upsample_scales_cubic_asymmetric: "ONNX op Resize (node 0 ''): mode 'cubic'",
  test_resize_upsample_sizes_cubic: "ONNX op Resize (node 0 ''): mode 'cubic'",
  test_resize_upsample_sizes_nearest: "ONNX op Resize (node 0 ''): nearest resize with coordinate_transformation_mode 'half_pixel' and nearest_mode 'round_prefer_floor' (TFLite rounds half_pixel up, asymmetric down)",
  test_resize_upsample_sizes_nearest_ceil_half_pixel: "ONNX op Resize (node 0 ''): nearest resize with coordinate_transformation_mode 'half_pixel' and nearest_mode 'ceil' (TFLite rounds half_pixel up, asymmetric down)",
  test_resize_upsample_sizes_nearest_floor_align_corners: "ONNX op Resize (node 0 ''): nearest resize with coordinate_transformation_mode 'align_corners' and nearest_mode 'floor' (TFLite rounds half_pixel up, asymmetric down)",
  test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric: "ONNX op Resize (node 0 ''): nearest resize with coordinate_transformation_mode 'asymmetric' and nearest_mode 'round_prefer_ceil' (TFLite rounds half_pixel up, asymmetric down)",
  test_split_zero_size_splits: "Input 'input' has a zero-sized dimension [0]; TFLite cannot run empty tensors",
};

describe('ONNX conformance cases (libonnx-testdata) through reef convert + TFLite', () => {
  const cases = listCases(CASES);
  const counts: Record<Outcome['status'], number> = { pass: 0, refused: 0, skipped: 0, mismatch: 0 };

  it('selects the node cases of every supported op', () => {
    expect(cases.length).toBe(311);
  });

  it.each(cases)('%s', async (name) => {
    const o = await runCase(name);
    counts[o.status]++;
    if (REFUSED[name]) expect(o).toEqual({ status: 'refused', code: 'REEF_CONVERT_UNSUPPORTED_OP', message: REFUSED[name] });
    else if (o.status === 'skipped') expect(o.why).toMatch(/^(input 0 is not float32|sequence\/optional inputs)/);
    else expect(o).toMatchObject({ status: 'pass' });
  });

  it('passes 217 cases, refuses 46 by name, skips 48 non-float ones', () => {
    expect(counts).toEqual({ pass: 217, refused: 46, skipped: 48, mismatch: 0 });
  });
});
