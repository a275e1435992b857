/**
 * HTTP/2 framing pieces for session.ts: frame types and flags, frame headers, and how a failed
 * HTTP/2 exchange maps to a gRPC status (as grpc-js maps it).
 */
import type { HeaderList } from './hpack.js';

export const T = {
  DATA: 0,
  HEADERS: 1,
  RST: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW: 8,
  CONT: 9,
} as const;
export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY = 0x20;
export const MAX_ID = 0x7fffffff;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** gRPC status codes used here (grpc.status). */
export const Code = {
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export interface CallFailure {
  code: number;
  details: string;
}

/** Told once: the response message (without its 5-byte gRPC prefix), or the failure. */
export type UnaryDone = (err: CallFailure | null, message: Buffer | undefined) => void;

export function frameHeader(
  b: Buffer,
  off: number,
  len: number,
  type: number,
  flags: number,
  id: number,
): void {
  b[off] = len >>> 16;
  b[off + 1] = (len >>> 8) & 0xff;
  b[off + 2] = len & 0xff;
  b[off + 3] = type;
  b[off + 4] = flags;
  b.writeUInt32BE(id, off + 5);
}

export function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(9 + payload.length);
  frameHeader(b, 0, payload.length, type, flags, id);
  payload.copy(b, 9);
  return b;
}

/** HTTP status → gRPC code, as grpc-js maps a non-200 response. */
export function httpCode(status: number): number {
  if (status === 400) return Code.INTERNAL;
  if (status === 401) return Code.UNAUTHENTICATED;
  if (status === 403) return Code.PERMISSION_DENIED;
  if (status === 404) return Code.UNIMPLEMENTED;
  if (status === 429 || status === 502 || status === 503 || status === 504) return Code.UNAVAILABLE;
  return Code.UNKNOWN;
}

export function rstFailure(code: number): CallFailure {
  if (code === 7) return { code: Code.UNAVAILABLE, details: 'Stream refused by server' };
  if (code === 8) return { code: Code.CANCELLED, details: 'Call cancelled' };
  if (code === 11)
    return { code: Code.RESOURCE_EXHAUSTED, details: 'Bandwidth exhausted or memory limit exceeded' };
  if (code === 12) return { code: Code.PERMISSION_DENIED, details: 'Protocol not secure enough' };
  return { code: Code.INTERNAL, details: `Received RST_STREAM with code ${code}` };
}

function grpcMessage(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** The connection preface: the magic, SETTINGS (no push, stream windows of `window`), and a connection window as large. */
export function clientPreface(window: number): Buffer {
  const settings = Buffer.alloc(12);
  settings.writeUInt16BE(2, 0); // ENABLE_PUSH 0
  settings.writeUInt16BE(4, 6); // INITIAL_WINDOW_SIZE
  settings.writeUInt32BE(window, 8);
  const inc = Buffer.alloc(4);
  inc.writeUInt32BE(window - 65535, 0);
  return Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0, settings), frame(T.WINDOW, 0, 0, inc)]);
}

export function findHeader(h: HeaderList, name: string): string | undefined {
  for (const [n, v] of h) if (n === name) return v;
  return undefined;
}

/** A call's outcome from its trailers and the DATA received: the message (without the gRPC prefix) or the failure. */
export function unaryResult(trailers: HeaderList, data: Buffer | undefined): Buffer | CallFailure {
  const code = Number(findHeader(trailers, 'grpc-status') ?? Code.UNKNOWN);
  if (code !== 0) return { code, details: grpcMessage(findHeader(trailers, 'grpc-message') ?? '') };
  if (!data || data.length < 5 || data[0] !== 0 || data.readUInt32BE(1) !== data.length - 5)
    return { code: Code.INTERNAL, details: 'Malformed or missing response message' };
  return data.subarray(5);
}
