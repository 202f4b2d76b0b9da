/**
 * The request/response protocol between `reef deploy` (host, drives everything) and `reef agent`
 * (board). Every request is idempotent, so the host may resend any request whose answer it did not
 * get: chunks are written at their offset, BEGIN reports what the board already has (resume), COMMIT
 * of an installed release answers as before, jobs are polled.
 */

export const OP = {
  hello: 0,
  begin: 1,
  chunk: 2,
  commit: 3,
  rollback: 4,
  status: 5,
  run: 6,
  job: 7,
  read: 8,
} as const;

/** busy: the request is being worked on (a resend arrived meanwhile); the answer follows. */
export const STATUS = { ok: 0, error: 1, busy: 2 } as const;

/** Payload bytes per CHUNK frame. */
export const CHUNK_BYTES = 1024;
/** Payload bytes per READ answer. */
export const READ_BYTES = 1024;

export interface BeginRequest {
  /** release: a bundle for DIR/releases; input: a file for DIR/inputs (e.g. an image for reef run). */
  kind: 'release' | 'input';
  file: string;
  bytes: number;
  sha256: string;
  chunk: number;
}

export interface BeginAnswer {
  /** Bitmap of chunks the board has already (bit i of byte i>>3 = chunk i), base64. */
  have: string;
  count: number;
}

export function bitmapHas(map: Buffer, i: number): boolean {
  return (map[i >> 3] & (1 << (i & 7))) !== 0;
}

export function bitmapSet(map: Buffer, i: number): void {
  map[i >> 3] |= 1 << (i & 7);
}

export function chunkCount(bytes: number, chunk: number): number {
  return Math.max(1, Math.ceil(bytes / chunk));
}

/** What a finished job on the board printed. */
export interface JobOutput {
  code: number;
  stdout: string;
  stderr: string;
}
