/** `podman pull` policy for the base images of a build (`podman build --pull=<policy>`). */
export type PullPolicy = 'always' | 'missing' | 'never' | 'newer';

/**
 * Options of the `@prism/nx-podman:podman-build` executor, as written in project.json / nx.json (see schema.json).
 * Paths are workspace-relative. Tags, build args, labels and `pushDestination` may use the tokens `{projectName}`,
 * `{stage}`, `{env.NAME}` and `{shortCommitSha}`.
 */
export interface PodmanBuildExecutorSchema {
  /** Containerfile to build. @default `<projectRoot>/Containerfile`, else `<projectRoot>/Dockerfile` */
  file?: string;
  /** Build context directory. Widen it (e.g. to `plugins`) when the go.mod replaces a sibling module. @default the project root */
  context?: string;
  /** Build stage (`podman build --target`); configurations `production` and `debug` select it. @default "production" */
  stage?: string;
  /** Image tags. @default ["prism/{projectName}-plugin:{stage}"], plus "prism/{projectName}-plugin:latest" for the production stage */
  tags?: string[];
  /** `--build-arg NAME=VALUE` pairs. @default {} */
  buildArgs?: Record<string, string>;
  /** Extra image labels, merged over the `org.opencontainers.image.*` labels the executor adds. @default {} */
  labels?: Record<string, string>;
  /** Base image pull policy. @default podman's own default (the flag is not passed) */
  pull?: PullPolicy;
  /** Build without the layer cache (`--no-cache`); also bypasses the up-to-date check. @default false */
  noCache?: boolean;
  /** Target platforms (`os/arch[/variant]`). More than one builds a manifest list (`--manifest`). @default [] (the host's) */
  platforms?: string[];
  /** Push every tag (or the manifest list) after a successful or up-to-date build. @default false */
  push?: boolean;
  /** With `push`, push the image to this destination instead of the tags' registries, e.g. `oci-archive:dist/{projectName}.tar` or `dir:out/{stage}`. */
  pushDestination?: string;
  /**
   * Share builds across machines through a registry: before building, pull the image this build would make from
   * `<repository>:nxp-<stage>-<input hash>` when it is there (and tag it instead of building); after a build, push
   * it there. A repository (`registry.internal:5000/prism/{projectName}-plugin`), or `true` for the repository of the
   * first tag that names a registry (a build of several platforms then leaves the cache alone). Single-platform
   * builds only. @default false
   */
  registryCache?: boolean | string;
  /** Extra arguments passed to `podman build` as they are, before the context. @default [] */
  extraArgs?: string[];
  /** For watch-reload's live update, where the Containerfile does not say it plainly. */
  liveUpdate?: { builderStage?: string; artifact?: string; destination?: string; command?: string };
  /** Rebuild even when an image with the same inputs exists. @default false */
  force?: boolean;
  /** Do not stream podman's output; it is still shown (the last lines) when the build fails. @default false */
  quiet?: boolean;
  /** The podman binary. @default "podman" */
  podman?: string;
  /** Use the podman service (`podman --remote`). @default false */
  remote?: boolean;
  /** Named podman connection (`podman --remote --connection NAME`); implies `remote`. */
  connection?: string;
}
