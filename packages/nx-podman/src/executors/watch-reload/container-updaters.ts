import { buildCopyIntoArgs, LIVE_UPDATE_STOP_TIMEOUT_SECONDS } from '../../core/live-update-plan';
import type { ContainerUpdater, FileReader, HealthProbe, Logger, PodmanEngine, SleepClock } from '../../core/ports';
import { awaitRestarted, restartContainer } from '../../core/container-steps';
import type { InPlaceRestarter } from './delve-restarter';
import type { GateControl } from '../../core/blue-green';
import { backendHealth } from '../../core/held-ports';

/** What {@link createBinarySwapUpdater} works with. */
export interface BinarySwapDeps {
  files: Pick<FileReader, 'replaceFileBelow'>;
  probe(engine: PodmanEngine): HealthProbe;
  clock: SleepClock;
  logger: Logger;
  /** Restarts the process inside the container instead of the container (Delve in the debug stage), when it can. */
  inPlace?: InPlaceRestarter;
}

/**
 * Today's container updater: the binary replaces the old one inside the running container, then the process restarts
 * (in place when `inPlace` can: Delve relaunching it; else the container restarts, stop timeout at most
 * {@link LIVE_UPDATE_STOP_TIMEOUT_SECONDS}) and passes its health check.
 *
 * The binary goes in where podman runs on this host and its storage is visible here (root podman: the container's
 * root file system is mounted at the path inspect names) as a rename in that file system, no podman process. Else, or
 * when that is refused, `podman cp` (it extracts from the host side, so it works on scratch and distroless too).
 */
export function createBinarySwapUpdater(deps: BinarySwapDeps): ContainerUpdater {
  const { files, logger, clock } = deps;
  /** Undefined when the binary is in, else why not. */
  const install = async (request: Parameters<ContainerUpdater['update']>[0]): Promise<string | undefined> => {
    const { engine, state, project, container } = request;
    const local = !engine.connection.remote && !engine.connection.connection;
    if (local && state.rootfs) {
      const refused = await files.replaceFileBelow(request.hostFile, state.rootfs, request.destination);
      if (refused === undefined) {
        logger.debug('binary replaced in the container file system', { plugin: project, path: request.destination });
        return undefined;
      }
      logger.debug('binary not replaced in place; podman cp', { plugin: project, reason: refused });
    }
    const copied = await engine.exec(buildCopyIntoArgs(request.hostFile, container.name, request.destination), { signal: request.signal });
    return copied.exitCode === 0 ? undefined : `podman cp into "${container.name}" failed: ${(copied.stderr || copied.stdout).trim()}`;
  };

  return {
    async update(request) {
      const refused = await install(request);
      if (request.signal.aborted) return { status: 'aborted' };
      if (refused !== undefined) return { status: 'refused', reason: refused };
      await request.installed();
      const ports = { engine: request.engine, probe: deps.probe(request.engine), clock, logger, signal: request.signal };
      const stopSentAt = clock.now();
      const inPlace = await deps.inPlace?.restart(request);
      if (inPlace?.status === 'restarted') {
        const restarted = await awaitRestarted({ container: request.container, health: request.health }, ports, stopSentAt);
        if (restarted.status === 'healthy') return { status: 'updated' };
        return restarted.aborted ? { status: 'aborted' } : { status: 'failed', message: restarted.message };
      }
      if (request.signal.aborted) return { status: 'aborted' };
      if (inPlace?.status === 'failed')
        logger.warn('Delve did not relaunch the plugin; restarting its container', { plugin: request.project, reason: inPlace.reason });
      const stopTimeoutSeconds = Math.min(request.container.stopTimeoutSeconds, LIVE_UPDATE_STOP_TIMEOUT_SECONDS);
      const restarted = await restartContainer({ container: request.container, health: request.health, stopTimeoutSeconds }, ports);
      if (restarted.status === 'healthy') return { status: 'updated' };
      return restarted.aborted ? { status: 'aborted' } : { status: 'failed', message: restarted.message };
    },
  };
}

/** The gate a live update holds connections at: the project's, once it listens. */
export type HoldingGate = Pick<GateControl, 'listeners' | 'listening' | 'backends' | 'serve'> & { hold(): void };

/**
 * Holds the project's new connections while another updater changes its process: the hold starts once the binary is
 * in (just before the old process gets SIGTERM), and the held connections go to the same container once the new process
 * passes its health check, which is aimed at the container's backend port (through the gate it would wait behind its
 * own hold). After a failure they go there too: the job's full path takes over from there.
 */
export function createHoldingUpdater(inner: ContainerUpdater, gateOf: (project: string) => HoldingGate | undefined): ContainerUpdater {
  return {
    async update(request) {
      const gate = gateOf(request.project);
      const backends = gate?.listening() ? gate.backends() : undefined;
      if (!gate || !backends) return inner.update(request);
      let holding = false;
      try {
        return await inner.update({
          ...request,
          health: backendHealth(request.health, gate.listeners, backends),
          installed: async () => {
            await request.installed();
            gate.hold();
            holding = true;
          },
        });
      } finally {
        if (holding) gate.serve(backends);
      }
    },
  };
}
