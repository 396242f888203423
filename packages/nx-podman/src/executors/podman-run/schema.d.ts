/**
 * The `healthCheck` option: exactly one of `http`, `tcp`, `grpc`, `command` or `image`, with optional timing.
 * The string `"image"` is short for `{ "image": true }`.
 */
export interface HealthCheckObjectOption {
  /** URL answering 2xx/3xx when healthy, e.g. `http://127.0.0.1:9090/healthz`. */
  http?: string;
  /** Port (on 127.0.0.1) or `host:port` accepting TCP connections when healthy. */
  tcp?: number | string;
  /** `host:port` of a `grpc.health.v1.Health` service; healthy when `Check` answers `SERVING`. */
  grpc?: string;
  /** Service name sent in the gRPC health request. @default "" (the whole server) */
  service?: string;
  /** Command (argument array) run inside the container with `podman exec`; healthy when it exits 0. */
  command?: string[];
  /** Use the image's own HEALTHCHECK (`podman healthcheck run`). */
  image?: boolean;
  /** Seconds from container start until the check gives up. @default 30 */
  timeout?: number;
  /** Seconds between two attempts. @default 1 */
  interval?: number;
}

/** Options of the `podman-run` executor. */
export interface PodmanRunExecutorSchema {
  /** Podman binary. @default "podman" */
  podman?: string;
  /** Talk to the podman service (`podman --remote`). @default false */
  remote?: boolean;
  /** Named podman system connection; implies `remote`. */
  connection?: string;
  /** Build stage whose recorded image runs; the `production` and `debug` configurations set it. @default "production" */
  stage?: string;
  /** Image (id or local reference) to run instead of the one the last `podman-build` recorded. Never pulled. */
  image?: string;
  /** Container name. @default "<project>-plugin" for production, "<project>-plugin-<stage>" otherwise */
  name?: string;
  /** Published ports: `"9090"` binds 127.0.0.1:9090; `"8080:9090"`; `"0.0.0.0:9090:9090"` to listen on all interfaces. @default [] */
  ports?: (string | number)[];
  /** Environment variables. Values are passed through podman's environment and never printed. @default {} */
  env?: Record<string, string | number | boolean>;
  /** Env file(s) (`--env-file`), workspace-relative. @default [] */
  envFile?: string | string[];
  /** Volumes (`-v`): `./relative/host/path:/in/container[:opts]` (workspace-relative), `/abs:/x`, `named:/x`. @default [] */
  volumes?: string[];
  /** Network (`--network`). @default podman's default network */
  network?: string;
  /** Extra container labels. The `io.prism.nx-podman.` prefix is reserved. @default {} */
  labels?: Record<string, string>;
  /** Extra `podman run` arguments (before the image), e.g. `["--init", "--memory", "256m"]`. @default [] */
  extraArgs?: string[];
  /** Command and arguments after the image. @default the image's CMD */
  command?: string[];
  /** How to tell the new container is ready. @default none: running and not exited after a short grace period */
  healthCheck?: 'image' | HealthCheckObjectOption;
  /** Seconds `podman stop` waits after SIGTERM before SIGKILL. @default 10 */
  stopTimeout?: number;
  /** When the new container exits or never gets healthy, start the previous image again. @default true */
  rollback?: boolean;
  /**
   * Run the container in its own pod `<name>-pod`, which holds its network and published ports, so a restart (a live
   * update) keeps the network up. @default true, unless `network` or `extraArgs` set up the network themselves
   */
  pod?: boolean;
}
