/**
 * Frames on a serial line: SLIP-delimited (RFC 1055: END 0xC0, escaped as ESC 0xDB 0xDC; ESC as
 * 0xDB 0xDD), each frame `type u8 | id u32 | payload | crc32 u32` (little-endian). A damaged or cut
 * frame fails its CRC and is dropped; the next END resynchronises, and the sender retransmits.
 */
import { crc32 } from 'node:zlib';

const END = 0xc0;
const ESC = 0xdb;
const ESC_END = 0xdc;
const ESC_ESC = 0xdd;

export const FRAME = { request: 1, response: 2 } as const;

export interface Frame {
  type: number;
  id: number;
  payload: Buffer;
}

/** The bytes to write for one frame (END, escaped body, END). */
export function encodeFrame(f: Frame): Buffer {
  const body = Buffer.alloc(5 + f.payload.length + 4);
  body[0] = f.type;
  body.writeUInt32LE(f.id >>> 0, 1);
  f.payload.copy(body, 5);
  body.writeUInt32LE(crc32(body.subarray(0, 5 + f.payload.length)) >>> 0, 5 + f.payload.length);
  const out: number[] = [END];
  for (const b of body) {
    if (b === END) out.push(ESC, ESC_END);
    else if (b === ESC) out.push(ESC, ESC_ESC);
    else out.push(b);
  }
  out.push(END);
  return Buffer.from(out);
}

/** Turns a byte stream into frames; counts what it had to drop. */
export class FrameDecoder {
  private buf: number[] = [];
  private esc = false;
  /** Frames dropped: bad CRC, bad escape, too short or too long. */
  bad = 0;

  constructor(private readonly onFrame: (f: Frame) => void, private readonly maxFrame = 16 * 1024) {}

  push(data: Buffer): void {
    for (const b of data) {
      if (b === END) {
        this.finish();
        continue;
      }
      if (this.buf.length > this.maxFrame) continue; // runaway (lost END): dropped at the next END
      if (this.esc) {
        this.esc = false;
        if (b === ESC_END) this.buf.push(END);
        else if (b === ESC_ESC) this.buf.push(ESC);
        else { this.buf.push(-1); } // invalid escape: poison the frame
      } else if (b === ESC) this.esc = true;
      else this.buf.push(b);
    }
  }

  private finish(): void {
    const bytes = this.buf;
    this.buf = [];
    this.esc = false;
    if (bytes.length === 0) return;
    if (bytes.length < 9 || bytes.length > this.maxFrame || bytes.includes(-1)) { this.bad++; return; }
    const body = Buffer.from(bytes);
    const n = body.length - 4;
    if ((crc32(body.subarray(0, n)) >>> 0) !== body.readUInt32LE(n)) { this.bad++; return; }
    this.onFrame({ type: body[0], id: body.readUInt32LE(1), payload: body.subarray(5, n) });
  }
}
