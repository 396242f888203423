/**
 * How `podman-run` decides that a new container is ready, normalized from the `healthCheck` option.
 * - `running`: no check configured; ready once the container is running and has not exited for `graceMs`.
 * - `http`: a GET answering 2xx or 3xx.
 * - `tcp`: a TCP connection that the server accepts and keeps open.
 * - `grpc`: `grpc.health.v1.Health/Check` answering `SERVING`.
 * - `command`: a command run inside the container with `podman exec` exiting 0.
 * - `image`: the image's own HEALTHCHECK, run with `podman healthcheck run`.
 */
export type HealthCheck =
  | { readonly kind: 'running'; readonly graceMs: number }
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'grpc'; readonly address: string; readonly service: string }
  | { readonly kind: 'command'; readonly command: readonly string[] }
  | { readonly kind: 'image' };

/** A health check with its timing. */
export interface HealthSettings {
  readonly check: HealthCheck;
  /** Give up this long after the container was started. @default 30000 */
  readonly timeoutMs: number;
  /** Pause between two attempts. @default 1000 */
  readonly intervalMs: number;
}

/** The outcome of one probe attempt. `fatal` failures (e.g. the image has no HEALTHCHECK) are not retried. */
export type ProbeResult = { ok: true } | { ok: false; reason: string; fatal?: boolean };

/** Short name of a check for log lines (`check=http`). */
export function healthCheckLabel(check: HealthCheck): string {
  return check.kind;
}

/** Where a check points, for messages: `http://127.0.0.1:9090/healthz`, `127.0.0.1:9090`, `podman exec ...`. */
export function describeHealthCheck(check: HealthCheck): string {
  switch (check.kind) {
    case 'running':
      return `container still running after ${check.graceMs} ms`;
    case 'http':
      return `GET ${check.url}`;
    case 'tcp':
      return `TCP ${check.host.includes(':') ? `[${check.host}]` : check.host}:${check.port}`;
    case 'grpc':
      return `gRPC health ${check.address}${check.service ? ` service "${check.service}"` : ''}`;
    case 'command':
      return `command ${JSON.stringify(check.command)} in the container`;
    case 'image':
      return "the image's HEALTHCHECK";
  }
}
