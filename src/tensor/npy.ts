/**
 * NumPy .npy files (format 1.0-3.0, C order) read into and written from reef's typed arrays, every
 * dtype kept as it is: how a user hands reef a raw tensor and gets one back.
 */
import { ReefError } from '../errors.js';
import { TYPED_ARRAY_FOR, elementCount, type DType, type Tensor, type TypedArray } from '../types.js';

/** .npy descr <-> reef dtype (little-endian; one-byte types with '|'). */
const DESCR: Array<[descr: string, dtype: DType]> = [
  ['<f4', 'float32'], ['<f8', 'float64'], ['<f2', 'float16'],
  ['|i1', 'int8'], ['|u1', 'uint8'], ['<i2', 'int16'], ['<u2', 'uint16' as DType], ['<i4', 'int32'], ['<u4', 'uint32'],
  ['<i8', 'int64'], ['<u8', 'uint64'], ['|b1', 'bool'],
];
const DTYPE_OF = new Map(DESCR);
const DESCR_OF = new Map(DESCR.map(([d, t]) => [t, d]));

/** A tensor read from a .npy file; `dtype` is the file's, `data` a typed array of it. */
export interface NpyTensor {
  dtype: DType | 'uint16';
  shape: number[];
  data: TypedArray;
}

/**
 * Parses a .npy file, keeping its dtype.
 * @example const t = readNpy(await readFile('x.npy'), 'x.npy'); // { dtype: 'float32', shape: [1,10], data: Float32Array }
 * @throws ReefError REEF_INVALID_ARGUMENT naming the file and what is wrong with it.
 */
export function readNpy(bytes: Uint8Array, name = '.npy file'): NpyTensor {
  const bad = (why: string): ReefError => new ReefError('REEF_INVALID_ARGUMENT', `Expected a NumPy .npy array for ${name} but ${why}`);
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') throw bad('the magic string is missing');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw bad(`its format version ${major} is not 1, 2 or 3`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major > 1 && bytes.length < 12) throw bad('its header is truncated');
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  if (hstart + hlen > bytes.length) throw bad('its header is truncated');
  const header = new TextDecoder().decode(bytes.subarray(hstart, hstart + hlen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw bad('its header is malformed');
  if (fortran === 'True') throw bad('it is in Fortran order (save it with np.ascontiguousarray)');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`its shape (${shapeText}) is not a list of sizes`);
  const norm = descr === '<b1' ? '|b1' : descr === '<i1' ? '|i1' : descr === '<u1' ? '|u1' : descr;
  const dtype = DTYPE_OF.get(norm);
  if (!dtype) throw bad(`its dtype '${descr}' is not supported (little-endian numbers or bool)`);
  const ctor = dtype === ('uint16' as DType) ? Uint16Array : TYPED_ARRAY_FOR[dtype]!;
  const n = elementCount(shape);
  const off = hstart + hlen;
  const size = n * ctor.BYTES_PER_ELEMENT;
  if (off + size > bytes.length) throw bad(`it is truncated (${n} elements of ${ctor.BYTES_PER_ELEMENT} bytes do not fit)`);
  const data = new ctor(n);
  new Uint8Array(data.buffer).set(bytes.subarray(off, off + size));
  return { dtype, shape, data };
}

/** Writes a tensor as a .npy (format 1.0). */
export function writeNpy(t: Tensor): Uint8Array {
  const descr = DESCR_OF.get(t.dtype);
  if (!descr) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a numeric or bool tensor for a .npy file but received ${t.dtype}`);
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = new Uint8Array(10 + header.length);
  head.set([0x93, ...Buffer.from('NUMPY'), 1, 0]);
  new DataView(head.buffer).setUint16(8, header.length, true);
  head.set(Buffer.from(header, 'latin1'), 10);
  const body = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}
