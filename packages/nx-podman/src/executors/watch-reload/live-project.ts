import type { HealthSettings } from '../../core/health-check';
import type { LiveUpdateHints } from '../../core/live-update-recipe';
import type { PodmanEngine } from '../../core/ports';
import type { ContainerRunSpec } from '../../core/run-args';

/** What the live updater needs to know of a project, from its build and run targets. */
export interface LiveProject {
  project: string;
  stage: string;
  /** Absolute Containerfile and context. */
  containerfile: string;
  context: string;
  /** podman-build's build args, and the Go module settings (GOPROXY, ...) it passes from its environment. */
  buildArgs: Readonly<Record<string, string>>;
  /** Volumes podman-build's extraArgs give the build steps (`SRC:DST[:opts]`): the builder mounts them too. */
  buildVolumes?: readonly string[];
  hints: LiveUpdateHints | undefined;
  container: ContainerRunSpec;
  health: HealthSettings;
  engine: PodmanEngine;
}
