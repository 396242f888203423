import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHealthProbe } from '../../adapters/health-probe';
import { handBackPorts, retireAll, type Retired } from '../../core/blue-green';
import type { HealthSettings } from '../../core/health-check';
import { backendSpec } from '../../core/held-ports';
import { formatSeconds } from '../../core/log-format';
import type { PodmanConnection } from '../../core/podman-version';
import type { Clock, HealthProbe, Logger, PodmanEngine } from '../../core/ports';
import { inspect } from '../../core/container-steps';
import { execRetryingSignals } from '../../core/podman-retry';
import type { Backends } from '../../core/request-hold';
import { buildInspectArgs, parseContainerInspect, type ContainerRunSpec } from '../../core/run-args';
import { stopContainerAtExit } from '../podman-run/stop-container';
import type { NormalizedWatchReloadOptions } from './normalize-options';
import type { RequestGates } from './request-gates';

/** The executor the run target must use for its ports to be held. */
const PODMAN_RUN = '@prism/nx-podman:podman-run';

/** What the watcher's held-port steps use of its targets (nx-targets.ts). */
export interface HeldTargetUnits {
  options: NormalizedWatchReloadOptions;
  logger: Logger;
  clock: Clock;
  probe: HealthProbe | undefined;
  gates: RequestGates;
  engineFor(connection: PodmanConnection): PodmanEngine;
  projectInfo(project: string): { targets: Record<string, { executor?: string }> };
  runOptions(project: string, image: string | undefined): { container: ContainerRunSpec; connection: PodmanConnection; health: HealthSettings };
}

/** `stopOnExit`: the project's container, and its pod's infra container (behind the gate, the pod named after its backend port). */
export async function stopAtExit(units: HeldTargetUnits, project: string, timeoutSeconds: number): Promise<void> {
  const { runOptions, gates, engineFor, clock, logger } = units;
  const normalized = runOptions(project, undefined);
  const backends = gates.get(project)?.backends();
  const container = backends ? backendSpec(normalized.container, normalized.container.name, backends) : normalized.container;
  await stopContainerAtExit(container, { engine: engineFor(normalized.connection), clock, logger, timeoutSeconds });
}

/**
 * The projects whose running containers publish their ports themselves while the watcher could hold their requests:
 * a replace (blue/green, with the image they run when it is up to date) hands the ports to the watcher's gate.
 */
export async function takeOverPorts(units: HeldTargetUnits, projects: readonly string[]): Promise<string[]> {
  const { options, projectInfo, runOptions, engineFor, gates } = units;
  if (!options.reload || !options.holdRequests) return [];
  const running = await Promise.all(
    projects.map(async (project) => {
      try {
        if (projectInfo(project).targets[options.runTarget]?.executor !== PODMAN_RUN) return undefined;
        const normalized = runOptions(project, undefined);
        const gate = gates.gateFor(project, normalized.container, normalized.connection);
        if (!gate || gate.listening()) return undefined;
        return (await inspect({ engine: engineFor(normalized.connection) }, normalized.container.name))?.running ? project : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  return running.filter((project): project is string => project !== undefined);
}

/**
 * At exit: every gate stops listening; with `handBack` (the containers keep running) podman publishes each project's
 * ports again, all projects at once (Nx kills the watcher ~5 s after Ctrl-C), each once its job has `settled`, not
 * after every job. Only when every project's ports are back do the old containers stop (at most `timeoutSeconds`
 * each, and not past `deadline`): their waits never delay another project's ports. Then held and forwarded connections close.
 */
export async function releasePorts(
  units: HeldTargetUnits,
  release: { handBack: boolean; timeoutSeconds: number; deadline?: number; settled?(project: string): Promise<void> },
  liveBinary: (project: string) => string | undefined,
): Promise<void> {
  const { gates } = units;
  const released = await Promise.all(
    gates.projects().map(async (project) => {
      // A job still ending (an aborted replace) may change which container serves.
      await release.settled?.(project);
      const gate = gates.get(project);
      if (!gate) return { retired: undefined, gate };
      const backends = gate.backends();
      if (!release.handBack || !gate.listening() || !backends) return { retired: undefined, gate };
      try {
        const retired = await handBack(
          units,
          project,
          { backends, timeoutSeconds: release.timeoutSeconds, closeListeners: () => gate.closeListeners() },
          liveBinary(project),
        );
        return { retired, gate };
      } catch (error) {
        units.logger.warn('could not hand the ports back to podman', { plugin: project, reason: (error as Error).message });
        return { retired: undefined, gate };
      }
    }),
  );
  // What is left of Nx's grace period bounds the stops: a stop cut short by Nx's SIGKILL would leave the container.
  const seconds =
    release.deadline === undefined ? release.timeoutSeconds : Math.max(0, Math.min(release.timeoutSeconds, (release.deadline - units.clock.now()) / 1000));
  // One removal for all of them (per podman connection): at exit every podman process counts.
  const byEngine = new Map<PodmanEngine, Retired[]>();
  for (const { retired } of released) if (retired) byEngine.set(retired.engine, [...(byEngine.get(retired.engine) ?? []), retired.old]);
  await Promise.all(
    [...byEngine].map(([engine, old]) =>
      retireAll({ engine, logger: units.logger }, old, seconds).catch((error: Error) =>
        units.logger.debug('could not remove the containers that were behind the gates', { reason: error.message }),
      ),
    ),
  );
  await Promise.all(released.map(({ gate }) => gate?.close()));
}

/**
 * One project's hand-back: its running container behind the gate is replaced by one publishing the ports itself.
 * Returns the removal of the old container, when there is one to remove.
 */
async function handBack(
  units: HeldTargetUnits,
  project: string,
  gate: { backends: Backends; timeoutSeconds: number; closeListeners(): Promise<void> },
  path: string | undefined,
): Promise<{ old: Retired; engine: PodmanEngine } | undefined> {
  const { runOptions, engineFor, clock, logger, probe } = units;
  const normalized = runOptions(project, undefined);
  const engine = engineFor(normalized.connection);
  const name = normalized.container.name;
  // Nx signals the task's process tree in its first moments after Ctrl-C: an inspect it ends is made again.
  const inspected = await execRetryingSignals(engine, buildInspectArgs(name), { clock, printsOnSuccess: true });
  const state = inspected.exitCode === 0 ? parseContainerInspect(inspected.stdout) : undefined;
  if (!state?.running) {
    logger.warn('ports not handed back: the container is not running', {
      plugin: project,
      container: name,
      state: state?.status ?? 'missing',
      fix: `nx run ${project}:${units.options.runTarget}`,
    });
    return undefined;
  }
  // A container running live-updated code: its binary goes into the new container, read where this host sees the old
  // container's file system (root podman), else copied out through a host file.
  const hostPath = path === undefined ? undefined : await visibleInContainer(engine, state.rootfs, path);
  const dir = path === undefined || hostPath !== undefined ? undefined : await mkdtemp(join(tmpdir(), 'nx-podman-handback-'));
  try {
    const result = await handBackPorts(
      { container: normalized.container, imageId: state.imageId, health: normalized.health, rollback: false },
      {
        engine,
        probe: probe ?? createHealthProbe({ engine }),
        clock,
        logger,
        backends: gate.backends,
        carry: path === undefined ? undefined : { path, hostFile: join(dir ?? '', 'binary'), hostPath },
        closeListeners: gate.closeListeners,
        retireTimeoutSeconds: gate.timeoutSeconds,
      },
    );
    if (result.status !== 'healthy') return undefined;
    logger.info('ports handed back to podman', { plugin: project, took: formatSeconds(result.durationMs), live: path === undefined ? undefined : true });
    return result.retired && { old: result.retired, engine };
  } finally {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Where this host sees `path` of a running container, when it does: podman runs here, not remotely, and the
 * container's root file system (inspect's `rootfs`, mounted while it runs under root podman) holds the file.
 */
async function visibleInContainer(engine: PodmanEngine, rootfs: string, path: string): Promise<string | undefined> {
  if (engine.connection.remote || engine.connection.connection || !rootfs) return undefined;
  const hostPath = join(rootfs, path);
  return (await access(hostPath, constants.R_OK).then(
    () => true,
    () => false,
  ))
    ? hostPath
    : undefined;
}
