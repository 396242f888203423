import { decodeHealthCheckRequest, encodeHealthCheckResponse } from '../testing/grpc-health-messages';
import { decodeHealthCheckResponse, encodeHealthCheckRequest } from './grpc-health';

describe('gRPC health messages', () => {
  it('encodes the request as protobuf field 1 (string)', () => {
    expect(encodeHealthCheckRequest('')).toEqual(Buffer.alloc(0));
    expect(encodeHealthCheckRequest('db')).toEqual(Buffer.from([0x0a, 0x02, 0x64, 0x62]));
    const long = 'x'.repeat(200);
    expect(encodeHealthCheckRequest(long).subarray(0, 3)).toEqual(Buffer.from([0x0a, 0xc8, 0x01]));
    expect(decodeHealthCheckRequest(encodeHealthCheckRequest(long))).toBe(long);
  });

  it.each(['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const)('round-trips the %s status', (status) => {
    expect(decodeHealthCheckResponse(encodeHealthCheckResponse(status))).toBe(status);
  });

  it('decodes SERVING as written by other implementations and skips unknown fields', () => {
    expect(decodeHealthCheckResponse(Buffer.from([0x08, 0x01]))).toBe('SERVING');
    // field 2 (string "hi") before field 1, field 3 fixed32
    expect(decodeHealthCheckResponse(Buffer.from([0x12, 0x02, 0x68, 0x69, 0x1d, 1, 2, 3, 4, 0x08, 0x02]))).toBe('NOT_SERVING');
    expect(decodeHealthCheckResponse(Buffer.from([0x08, 0x07]))).toBe('UNKNOWN(7)');
  });

  it('rejects truncated messages', () => {
    expect(() => decodeHealthCheckResponse(Buffer.from([0x08]))).toThrow(/truncated/);
    expect(() => decodeHealthCheckRequest(Buffer.from([0x0a, 0x05, 0x61]))).toThrow(/truncated/);
  });
});
