import { execRetryingSignals } from '../../core/podman-retry';
import type { Logger, PodmanEngine, SleepClock } from '../../core/ports';
import { buildKillArgs, buildWaitStoppedArgs, podInfraName, type ContainerRunSpec } from '../../core/run-args';

/**
 * Stops a plugin's container as the watcher exits (`stopOnExit`): SIGTERM, a wait of at most `timeoutSeconds` (or the
 * container's own stop timeout, if shorter), then SIGKILL; then its pod's infra container, which holds the ports.
 *
 * Not `podman stop`: it marks the container "stopping" and owns the SIGKILL escalation, so a podman stop killed by Nx's
 * shutdown (it signals the task's process tree) leaves the container stuck "stopping" with its port. Signals are
 * delivered at once, and conmon cleans up on exit, whatever happens to these short podman calls. Nx signals the task's
 * whole process tree in its first rounds after Ctrl-C, which can catch these podman calls as they start: one ended by a
 * signal (not by its own timeout) is made again.
 */
export async function stopContainerAtExit(
  container: Pick<ContainerRunSpec, 'name' | 'project' | 'stopTimeoutSeconds' | 'pod'>,
  deps: { engine: PodmanEngine; clock: SleepClock; logger: Logger; timeoutSeconds: number },
): Promise<void> {
  const { engine, clock, logger } = deps;
  const { name, project } = container;
  const seconds = Math.min(container.stopTimeoutSeconds, deps.timeoutSeconds);
  const run = (args: string[], timeoutMs?: number) =>
    execRetryingSignals(engine, args, {
      clock,
      timeoutMs,
      // kill prints the container's name, wait its exit code.
      printsOnSuccess: true,
      onRetry: (result) => logger.debug('podman call ended by a signal; again', { plugin: project, command: args[0], signal: result.signal }),
    });
  const term = await run(buildKillArgs(name, 'SIGTERM'));
  if (term.exitCode === 0) {
    const waited = await run(buildWaitStoppedArgs(name), seconds * 1000);
    if (waited.exitCode !== 0 || waited.timedOut) {
      logger.debug('container ignored SIGTERM; killing it', { plugin: project, container: name, after: `${seconds}s` });
      await run(buildKillArgs(name, 'SIGKILL'));
      await run(buildWaitStoppedArgs(name), 5000);
    }
  }
  // The pod's infra container holds the published ports: stopped too, so they are free once the watcher is gone. It
  // only sleeps, so SIGKILL loses nothing (podman starts it again with the container), and there is nothing to wait
  // for: the kill returns once the signal is delivered and conmon cleans up after it.
  if (container.pod !== undefined) await run(buildKillArgs(podInfraName(container.pod), 'SIGKILL'));
}
