import { encodeVarint, readFields, STATUS_NAMES, type GrpcServingStatus } from '../core/grpc-health';

/** The server side of the gRPC health messages, for the test servers (the plugin only sends requests and reads answers). */

/** Decodes a `HealthCheckRequest`: the service asked about (empty: the whole server). */
export function decodeHealthCheckRequest(buffer: Uint8Array): string {
  let service = '';
  readFields(buffer, (field, wireType, value) => {
    if (field === 1 && wireType === 2) service = Buffer.from(value as Uint8Array).toString('utf8');
  });
  return service;
}

/** Encodes a `HealthCheckResponse`. */
export function encodeHealthCheckResponse(status: GrpcServingStatus): Buffer {
  const value = STATUS_NAMES.indexOf(status);
  // proto3 omits a field holding its default (0 = UNKNOWN).
  return value === 0 ? Buffer.alloc(0) : Buffer.from([0x08, ...encodeVarint(value)]);
}
