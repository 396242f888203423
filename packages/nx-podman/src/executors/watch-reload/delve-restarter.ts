import { posix } from 'node:path';
import { delveServerOf, isDelveServer, publishedPort, restartUnderDelve } from '../../core/delve';
import type { ContainerUpdateRequest, DelveRpc, Logger, SleepClock } from '../../core/ports';

/** How a process restart inside the running container went (the container itself is not restarted). */
export type InPlaceRestartResult =
  /** The new binary runs; its health check is next. */
  | { status: 'restarted' }
  /** Not possible for this container (no Delve server, remote podman, ...): the container restarts, as before. */
  | { status: 'unavailable'; reason: string }
  /** Tried and failed (Delve did not answer, its restart failed): the container restarts, and the log says why. */
  | { status: 'failed'; reason: string };

/** Restarts a container's process in place, once the new binary is in its file system. */
export interface InPlaceRestarter {
  restart(request: ContainerUpdateRequest): Promise<InPlaceRestartResult>;
}

/** What {@link createDelveRestarter} works with: `adapters/delve-rpc.ts`, or fakes. */
export interface DelveRestarterDeps {
  /** A JSON-RPC connection to Delve on 127.0.0.1:`port`. */
  connect(port: number): Promise<DelveRpc>;
  /** Connections established to `containerPort` in the container whose pid 1 is `pid`; undefined when it cannot tell. */
  attached(pid: number, containerPort: number): Promise<number | undefined>;
  clock: SleepClock;
  logger: Logger;
}

/**
 * The debug stage's live update that keeps the debug session: when the container runs a headless multi-client Delve
 * server (`dlv exec <binary> --headless --accept-multiclient --listen=:<port>`) on a port published on this host, Delve
 * relaunches its program from the replaced binary. Attached debuggers stay connected and their breakpoints are set again
 * in the new code. Says once per project when a container runs dlv in a way that cannot keep the session.
 */
export function createDelveRestarter(deps: DelveRestarterDeps): InPlaceRestarter {
  const { logger } = deps;
  const told = new Set<string>();
  const unavailable = (request: ContainerUpdateRequest, reason: string, runsDelve: boolean): InPlaceRestartResult => {
    if (runsDelve && !told.has(request.project)) {
      told.add(request.project);
      logger.info('each live update ends the debug session (the container restarts)', { plugin: request.project, reason });
    }
    return { status: 'unavailable', reason };
  };
  return {
    async restart(request) {
      const { engine, state, project, destination } = request;
      if (!state.command) return unavailable(request, 'podman did not say what the container runs', false);
      const server = delveServerOf(state.command);
      if (!isDelveServer(server)) return unavailable(request, server.reason, !server.reason.startsWith('the container does not run dlv'));
      if (engine.connection.remote || engine.connection.connection) {
        return unavailable(request, 'podman runs on another machine, and with it the Delve port', true);
      }
      const program = server.program;
      if (program !== destination && (program.startsWith('/') || posix.basename(program) !== posix.basename(destination))) {
        return unavailable(request, `dlv runs "${program}" but the live update replaces "${destination}"`, true);
      }
      const port = publishedPort(state, server.containerPort);
      if (port === undefined) return unavailable(request, `Delve's port ${server.containerPort} is not published`, true);

      // Counted before the watcher's own connection opens.
      const attached = state.pid === undefined ? undefined : await deps.attached(state.pid, server.containerPort);
      let rpc: DelveRpc;
      try {
        rpc = await deps.connect(port);
      } catch (error) {
        return { status: 'failed', reason: `Delve on 127.0.0.1:${port} did not answer: ${(error as Error).message}` };
      }
      try {
        const result = await restartUnderDelve(
          rpc,
          { plugin: project, attached, continueWaitMs: request.health.timeoutMs, signal: request.signal },
          { clock: deps.clock, logger },
        );
        if (result.status === 'failed') return result;
        logger.debug('Delve relaunched the plugin', { plugin: project, debuggers: attached });
        return { status: 'restarted' };
      } finally {
        rpc.close();
      }
    },
  };
}
