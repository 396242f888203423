/** How `podman-run` checks that a generated plugin is ready. */
export type PluginHealthCheckKind = 'grpc' | 'http' | 'tcp' | 'command' | 'none';

/** Options of the `@prism/nx-podman:plugin` generator. */
export interface PluginGeneratorSchema {
  /** Plugin name: a Go package name (lower-case letters and digits, starting with a letter), also the Nx project name and the container name prefix. */
  name: string;
  /** Workspace-relative directory of the plugin. @default "plugins/<name>" */
  directory?: string;
  /** Port the plugin listens on (and publishes on 127.0.0.1); the debug container publishes port + 1000, and Delve on port + 2000. @default the next port from 9090 not used by another plugin */
  port?: number;
  /** Core Go module: a directory name beside the plugin's directory, or a workspace-relative path; created when missing. @default "core" */
  core?: string;
  /** Prefix of the Go module paths: the plugin is `<module>/<name>`, a new core `<module>/<core>`. @default "prism" */
  module?: string;
  /** Image of the `builder` stage (needs the Go toolchain). @default "docker.io/library/golang:1.26" */
  builderImage?: string;
  /** Image of the `production` stage. @default "gcr.io/distroless/static-debian12:nonroot" */
  runtimeImage?: string;
  /** Image of the `debug` stage (one with a shell). @default "gcr.io/distroless/static-debian12:debug-nonroot" */
  debugImage?: string;
  /** Where the debug stage gets Delve: `install` builds dlv with `go install` (needs a module proxy), `image`: the debug image has dlv on its PATH. @default "install" */
  delve?: 'install' | 'image';
  /** Extra Nx project tags, comma-separated; `plugin` is always added. @default "" */
  tags?: string;
  /** What the plugin serves: `grpc` (health, reflection and its own Plugin service) or `http` (HTTP/JSON). @default "grpc" */
  protocol?: 'grpc' | 'http';
  /** How `podman-run` checks the container is ready. @default the protocol's own: "grpc" (the health service) or "http" (GET /healthz) */
  healthCheck?: PluginHealthCheckKind;
  /** Do not format the generated files. @default false */
  skipFormat?: boolean;
}
