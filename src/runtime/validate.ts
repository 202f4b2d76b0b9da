/**
 * Cheap checks on model bytes before they reach the native library.
 */
import { ReefError } from '../errors.js';

/** Refuses bytes that cannot be a TFLite flatbuffer (too short, wrong file identifier). */
export function checkTfliteBytes(bytes: Uint8Array, source: string): void {
  if (bytes.byteLength < 8) {
    throw new ReefError('REEF_MODEL_INVALID', `${source}: ${bytes.byteLength} bytes is too short to be a TFLite model`);
  }
  const id = String.fromCharCode(bytes[4], bytes[5], bytes[6], bytes[7]);
  if (id !== 'TFL3') {
    const printable = /^[\x20-\x7e]{4}$/.test(id) ? `"${id}"` : `0x${Buffer.from(bytes.subarray(4, 8)).toString('hex')}`;
    throw new ReefError('REEF_MODEL_INVALID', `${source}: not a TFLite model (file identifier at byte 4 is ${printable}, expected "TFL3")`);
  }
}
