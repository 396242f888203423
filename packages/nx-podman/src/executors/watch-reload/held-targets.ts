import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHealthProbe } from '../../adapters/health-probe';
import { handBackPorts } from '../../core/blue-green';
import type { HealthSettings } from '../../core/health-check';
import { backendSpec } from '../../core/held-ports';
import { formatSeconds } from '../../core/log-format';
import type { PodmanConnection } from '../../core/podman-version';
import type { Clock, HealthProbe, Logger, PodmanEngine } from '../../core/ports';
import { inspect } from '../../core/container-steps';
import type { ContainerRunSpec } from '../../core/run-args';
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
 * ports again, all projects at once (Nx kills the watcher ~5 s after Ctrl-C). Then held and forwarded connections close.
 */
export async function releasePorts(units: HeldTargetUnits, handBack: boolean, liveBinary: (project: string) => string | undefined): Promise<void> {
  const { gates, runOptions, engineFor, clock, logger, probe } = units;
  await Promise.all(
    gates.projects().map(async (project) => {
      const gate = gates.get(project);
      if (!gate) return;
      const backends = gate.backends();
      if (handBack && gate.listening() && backends) {
        await gate.closeListeners();
        try {
          const normalized = runOptions(project, undefined);
          const engine = engineFor(normalized.connection);
          const state = await inspect({ engine }, normalized.container.name);
          if (state?.running) {
            const began = clock.now();
            const path = liveBinary(project);
            // A container running live-updated code: its binary goes into the new container (podman cp through a host file).
            const dir = path === undefined ? undefined : await mkdtemp(join(tmpdir(), 'nx-podman-handback-'));
            try {
              const result = await handBackPorts(
                { container: normalized.container, imageId: state.imageId, health: normalized.health, rollback: false },
                {
                  engine,
                  probe: probe ?? createHealthProbe({ engine }),
                  clock,
                  logger,
                  backends,
                  carry: path === undefined || dir === undefined ? undefined : { path, hostFile: join(dir, 'binary') },
                },
              );
              if (result.status === 'healthy')
                logger.info('ports handed back to podman', {
                  plugin: project,
                  took: formatSeconds(clock.now() - began),
                  live: path === undefined ? undefined : true,
                });
            } finally {
              if (dir !== undefined) await rm(dir, { recursive: true, force: true });
            }
          }
        } catch (error) {
          logger.warn('could not hand the ports back to podman', { plugin: project, reason: (error as Error).message });
        }
      }
      await gate.close();
    }),
  );
}
