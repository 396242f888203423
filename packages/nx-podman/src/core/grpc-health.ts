/**
 * The two messages of the standard gRPC health service (`grpc.health.v1`), encoded by hand: each has a single
 * field, so a protobuf library or a .proto file would be more code than this.
 *   message HealthCheckRequest  { string service = 1; }
 *   message HealthCheckResponse { ServingStatus status = 1; }
 */

/** Full method path of the health check. */
export const GRPC_HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

/** `HealthCheckResponse.ServingStatus`. */
export type GrpcServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** The enum's values, by number. */
export const STATUS_NAMES: readonly GrpcServingStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

export function encodeVarint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

function readVarint(buffer: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let index = offset; index < buffer.length && index < offset + 10; index++) {
    const byte = buffer[index]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: index + 1 };
  }
  throw new Error('truncated varint in gRPC health message');
}

/** Iterates the fields of a protobuf message, skipping what it does not need; throws on malformed input. */
export function readFields(buffer: Uint8Array, onField: (field: number, wireType: number, value: number | Uint8Array) => void): void {
  let offset = 0;
  while (offset < buffer.length) {
    const key = readVarint(buffer, offset);
    const field = Math.floor(key.value / 8);
    const wireType = key.value & 7;
    offset = key.next;
    if (wireType === 0) {
      const value = readVarint(buffer, offset);
      onField(field, wireType, value.value);
      offset = value.next;
    } else if (wireType === 2) {
      const length = readVarint(buffer, offset);
      const end = length.next + length.value;
      if (end > buffer.length) throw new Error('truncated field in gRPC health message');
      onField(field, wireType, buffer.subarray(length.next, end));
      offset = end;
    } else if (wireType === 1 || wireType === 5) {
      offset += wireType === 1 ? 8 : 4;
      if (offset > buffer.length) throw new Error('truncated field in gRPC health message');
    } else {
      throw new Error(`unsupported protobuf wire type ${wireType} in gRPC health message`);
    }
  }
}

/** Encodes a `HealthCheckRequest`; the empty service (whole server) is the empty message. */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const bytes = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a, ...encodeVarint(bytes.length)]), bytes]);
}

/** Decodes a `HealthCheckResponse`; an unknown enum value is reported as `UNKNOWN(n)`. */
export function decodeHealthCheckResponse(buffer: Uint8Array): GrpcServingStatus | `UNKNOWN(${number})` {
  let status = 0;
  readFields(buffer, (field, wireType, value) => {
    if (field === 1 && wireType === 0) status = value as number;
  });
  return STATUS_NAMES[status] ?? `UNKNOWN(${status})`;
}
