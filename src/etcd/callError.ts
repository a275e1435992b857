/**
 * How a failed etcd call is reported, whichever transport carried it (grpc-js in grpc.ts, the
 * hand-framed HTTP/2 in wire/): "<service>.<method> <endpoint>: <CODE>: <details>", with the gRPC
 * status code's name kept apart for callers that branch on it.
 */

/** gRPC status code names (grpc/doc/statuscodes.md), by number. */
const CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

export function grpcCodeName(code: number | undefined): string {
  return code === undefined ? 'UNKNOWN' : (CODE_NAMES[code] ?? `CODE_${code}`);
}

export class EtcdCallError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details: string,
  ) {
    super(message);
  }
}
