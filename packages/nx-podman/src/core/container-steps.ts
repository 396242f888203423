import { announceDebugSessionEnd } from './delve';
import { sameImage, shortImageId } from './image-id';
import { formatSeconds } from './log-format';
import { describeHealthCheck, healthCheckLabel, type HealthSettings } from './health-check';
import {
  buildInspectArgs,
  buildLogsArgs,
  buildPodCreateArgs,
  buildPodInspectArgs,
  buildPodRemoveArgs,
  buildRemoveArgs,
  buildRestartArgs,
  buildRunArgs,
  parseContainerInspect,
  parsePodConfig,
  parsePodId,
  podConfig,
  type ContainerRunSpec,
  type ContainerState,
} from './run-args';
import type { HealthProbe, Logger, PodmanEngine, ProcessResult, SleepClock } from './ports';

/** How many lines of `podman logs` a failure shows. */
export const FAILURE_LOG_LINES = 50;
/** Upper bound of one probe attempt, so that a hanging server cannot eat the whole timeout in one go. */
const MAX_ATTEMPT_MS = 5000;
/**
 * No new probe starts with less time than this left: an attempt cut to a few milliseconds by the deadline can only
 * time out, and its "did not answer within 1 ms" would replace the real reason (an HTTP 404, a refused connection).
 */
const MIN_ATTEMPT_MS = 250;
/** How often the `running` check (no health check configured) looks at the container during its grace period. */
const RUNNING_POLL_MS = 250;

/** One container replacement: the container to create, the image to run in it and how to judge it. */
export interface ReplaceRequest {
  readonly container: ContainerRunSpec;
  /** Full id of an image that exists locally (the caller checked). */
  readonly imageId: string;
  readonly health: HealthSettings;
  /** Start the previous container's image again when the new one fails. */
  readonly rollback: boolean;
}

/** The ports the replace sequence drives. */
export interface ReplacePorts {
  engine: PodmanEngine;
  probe: HealthProbe;
  clock: SleepClock;
  logger: Logger;
  /** Aborting stops waiting for health (the container is left as it is) and skips the remaining steps. */
  signal?: AbortSignal;
}

/** The outcome of {@link replaceContainer}. */
export type ReplaceResult =
  | {
      status: 'healthy';
      container: string;
      imageId: string;
      /** From the start of the replacement (before stopping the old container) until the new one was healthy. */
      durationMs: number;
      /**
       * What a client sees: from the stop being sent to the old container (it stops answering at SIGTERM) until the
       * new one was healthy; undefined when none was running.
       */
      downtimeMs: number | undefined;
    }
  | { status: 'failed'; message: string; rolledBack: boolean };

export type StartResult = { ok: true; healthyAt: number; startedAt: number } | { ok: false; reason: string; created: boolean; aborted: boolean };

/** The container's state, or undefined when it does not exist. */
export async function inspect(ports: { engine: Pick<PodmanEngine, 'exec'> }, name: string): Promise<ContainerState | undefined> {
  const result = await ports.engine.exec(buildInspectArgs(name));
  return result.exitCode === 0 ? parseContainerInspect(result.stdout) : undefined;
}

function exitReason(state: ContainerState | undefined): string {
  if (!state) return 'the container disappeared';
  return `the container exited with code ${state.exitCode}${state.status && state.status !== 'exited' && state.status !== 'stopped' ? ` (status ${state.status})` : ''}`;
}

/** Waits until the started container passes its health check, exits, or the timeout passes. */
export async function waitHealthy(request: ReplaceRequest, ports: ReplacePorts, startedAt: number, inspectAfterMs = 0): Promise<StartResult> {
  const { clock, signal } = ports;
  const { check, timeoutMs, intervalMs } = request.health;
  const name = request.container.name;
  let lastReason: string;
  for (;;) {
    if (signal?.aborted) return { ok: false, reason: 'aborted', created: true, aborted: true };
    const elapsed = clock.now() - startedAt;
    if (check.kind === 'running') {
      const state = await inspect(ports, name);
      if (!state || !state.running) return { ok: false, reason: exitReason(state), created: state !== undefined, aborted: false };
      if (elapsed >= check.graceMs) return { ok: true, healthyAt: clock.now(), startedAt };
      await clock.sleep(Math.min(RUNNING_POLL_MS, check.graceMs - elapsed), signal);
      continue;
    }
    // Probe first and look at the container only when the probe fails: a passing probe needs no inspect, which
    // keeps one podman process (hundreds of ms on a busy machine) out of the downtime.
    const attempt = await ports.probe.probe(check, { container: name, timeoutMs: Math.max(1, Math.min(MAX_ATTEMPT_MS, timeoutMs - elapsed)), signal });
    if (attempt.ok) return { ok: true, healthyAt: clock.now(), startedAt };
    if (signal?.aborted) return { ok: false, reason: 'aborted', created: true, aborted: true };
    lastReason = attempt.reason;
    ports.logger.debug('plugin not healthy yet', { plugin: request.container.project, check: healthCheckLabel(check), reason: attempt.reason });
    // A refused probe in the first moments after a restart is the process starting: probe again before asking podman.
    if (clock.now() - startedAt < Math.min(inspectAfterMs, timeoutMs - MIN_ATTEMPT_MS) && !attempt.fatal) {
      await clock.sleep(intervalMs, signal);
      continue;
    }
    const state = await inspect(ports, name);
    if (!state || !state.running) return { ok: false, reason: exitReason(state), created: state !== undefined, aborted: false };
    if (attempt.fatal) return { ok: false, reason: attempt.reason, created: true, aborted: false };
    const remaining = timeoutMs - (clock.now() - startedAt);
    if (remaining > 0) await clock.sleep(Math.min(intervalMs, remaining), signal);
    if (timeoutMs - (clock.now() - startedAt) < MIN_ATTEMPT_MS && !signal?.aborted) {
      return {
        ok: false,
        reason: `not healthy after ${formatSeconds(timeoutMs)} (${describeHealthCheck(check)}): ${lastReason}`,
        created: true,
        aborted: false,
      };
    }
  }
}

/** Runs the container detached and waits for health. */
export async function startAndWait(request: ReplaceRequest, ports: ReplacePorts, imageId: string): Promise<StartResult> {
  const spec = request.container;
  const { args, env } = buildRunArgs(spec, imageId);
  const run = await ports.engine.exec(args, { env });
  if (run.exitCode !== 0) {
    // podman may have created the container before failing to start it.
    const state = await inspect(ports, spec.name);
    const output = (run.stderr || run.stdout).trim().split('\n').slice(-10).join('\n');
    return { ok: false, reason: `podman run failed (exit ${run.exitCode}): ${output}`, created: state !== undefined, aborted: false };
  }
  const startedAt = ports.clock.now();
  ports.logger.info('plugin container started', { plugin: spec.project, container: spec.name });
  return waitHealthy(request, ports, startedAt);
}

/** Whether the spec's pod exists with the ports and network the spec asks for. */
async function podState(ports: ReplacePorts, spec: ContainerRunSpec & { pod: string }): Promise<{ state: 'current' | 'stale' | 'missing'; id?: string }> {
  const result = await ports.engine.exec(buildPodInspectArgs(spec.pod));
  const config = result.exitCode === 0 ? parsePodConfig(result.stdout) : undefined;
  if (config === undefined) return { state: 'missing' };
  return { state: config === podConfig(spec) ? 'current' : 'stale', id: parsePodId(result.stdout) };
}

/** Podman calls only (no health probe, no clock): what making a pod and the removals need. */
export type PodmanCalls = { engine: Pick<PodmanEngine, 'exec'>; logger: Logger };

/** Makes the spec's pod (after removing a stale one); the failure message, or undefined when the pod is ready. */
export async function makePod(ports: PodmanCalls, spec: ContainerRunSpec & { pod: string }, stale: boolean): Promise<string | undefined> {
  if (stale) {
    ports.logger.debug('pod has other ports or network; making it again', { plugin: spec.project, pod: spec.pod });
    await ports.engine.exec(buildPodRemoveArgs(spec.pod));
  }
  const created = await ports.engine.exec(buildPodCreateArgs(spec));
  if (created.exitCode === 0) return undefined;
  return podFailure(spec, created);
}

/**
 * Makes the spec's pod where one of that name may be left from an interrupted watch: created at once (one podman call
 * in the usual case, where none is), and only when the name is taken is the old pod removed and the pod made again.
 */
export async function makeFreshPod(ports: PodmanCalls, spec: ContainerRunSpec & { pod: string }): Promise<string | undefined> {
  const created = await ports.engine.exec(buildPodCreateArgs(spec));
  if (created.exitCode === 0) return undefined;
  if (!nameTaken(created)) return podFailure(spec, created);
  return makePod(ports, spec, true);
}

/** Whether podman refused to create a container or pod because the name is taken (`... is in use`, `already exists`). */
export function nameTaken(result: Pick<ProcessResult, 'stderr'>): boolean {
  return /already exists|is in use|already in use/.test(result.stderr);
}

function podFailure(spec: ContainerRunSpec & { pod: string }, created: { exitCode: number; stderr: string; stdout: string }): string {
  return `Could not create the pod "${spec.pod}" for "${spec.project}" (exit ${created.exitCode}): ${(created.stderr || created.stdout).trim()}. Set the podman-run option "pod" to false to run the container without a pod.`;
}

export async function showLogs(ports: ReplacePorts, spec: ContainerRunSpec): Promise<void> {
  const logs = await ports.engine.exec(buildLogsArgs(spec.name, FAILURE_LOG_LINES), { signal: ports.signal });
  const text = [logs.stdout, logs.stderr].filter((part) => part.trim() !== '').join('');
  ports.logger.info(`last ${FAILURE_LOG_LINES} lines of the container log`, {
    plugin: spec.project,
    container: spec.name,
    empty: text === '' ? true : undefined,
  });
  if (text !== '') ports.logger.output(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * The replace sequence: stop and remove the old container in one step (a missing one is normal), run the new image detached,
 * wait for health. On failure: show the last {@link FAILURE_LOG_LINES} lines of the container log and, with
 * `rollback`, start the image the old container was running (if it was running and differs from the new image).
 * Expected failures are results, not exceptions.
 */
export async function replaceContainer(request: ReplaceRequest, ports: ReplacePorts): Promise<ReplaceResult> {
  const { engine, clock, logger } = ports;
  const spec = request.container;
  const plugin = spec.project;
  const begin = clock.now();
  logger.info('starting plugin container', { plugin, image: shortImageId(request.imageId) });

  const previous = await inspect(ports, spec.name);
  // Looked at before the old container stops: only making the pod (the first time) is downtime.
  const pod = spec.pod === undefined ? undefined : await podState(ports, { ...spec, pod: spec.pod });
  let stopSentAt: number | undefined;
  if (previous) {
    logger.debug('stopping and removing old container', { plugin, container: spec.name, image: shortImageId(previous.imageId), status: previous.status });
    if (previous.running) stopSentAt = clock.now();
    // One podman process stops (within the stop timeout) and removes: every process spawned here is downtime.
    const remove = await engine.exec(buildRemoveArgs(spec.name, spec.stopTimeoutSeconds));
    if (remove.exitCode !== 0) {
      return {
        status: 'failed',
        rolledBack: false,
        message: `Could not remove the old container "${spec.name}" of "${plugin}" (exit ${remove.exitCode}): ${(remove.stderr || remove.stdout).trim()}. Remove it with "podman rm -f ${spec.name}" and try again.`,
      };
    }
    // An old container in another pod than the spec's (an earlier watch's gate pod, `<name>-pod-<port>`): that pod goes too.
    if (pod !== undefined && previous.podId !== undefined && previous.podId !== pod.id) await engine.exec(buildPodRemoveArgs(previous.podId));
  } else {
    logger.debug('no old container to replace', { plugin, container: spec.name });
  }
  if (ports.signal?.aborted) return { status: 'failed', rolledBack: false, message: 'aborted' };
  if (spec.pod !== undefined && pod?.state !== 'current') {
    const failure = await makePod(ports, { ...spec, pod: spec.pod }, pod?.state === 'stale');
    if (failure) return { status: 'failed', rolledBack: false, message: failure };
  }

  const started = await startAndWait(request, ports, request.imageId);
  if (started.ok) {
    logger.info('plugin healthy', {
      plugin,
      duration: formatSeconds(started.healthyAt - started.startedAt),
      check: healthCheckLabel(request.health.check),
      downtime: stopSentAt === undefined ? undefined : formatSeconds(started.healthyAt - stopSentAt),
    });
    announceDebugSessionEnd(previous, spec, logger);
    return {
      status: 'healthy',
      container: spec.name,
      imageId: request.imageId,
      durationMs: started.healthyAt - begin,
      downtimeMs: stopSentAt === undefined ? undefined : started.healthyAt - stopSentAt,
    };
  }
  if (started.aborted) return { status: 'failed', rolledBack: false, message: 'aborted' };

  logger.error('plugin container failed', { plugin, container: spec.name, reason: started.reason });
  if (started.created) await showLogs(ports, spec);
  const failure = `The new container "${spec.name}" of "${plugin}" (image ${shortImageId(request.imageId)}) failed: ${started.reason}.`;

  if (!request.rollback) {
    return { status: 'failed', rolledBack: false, message: `${failure} Rollback is off; the container is left for inspection ("podman logs ${spec.name}").` };
  }
  if (!previous || !previous.running) {
    return {
      status: 'failed',
      rolledBack: false,
      message: `${failure} No previous container was running, so there is nothing to roll back to; the container is left for inspection ("podman logs ${spec.name}").`,
    };
  }
  if (sameImage(previous.imageId, request.imageId)) {
    return { status: 'failed', rolledBack: false, message: `${failure} The previous container ran the same image, so a rollback would not help.` };
  }
  if (!(await engine.imageExists(previous.imageId))) {
    return {
      status: 'failed',
      rolledBack: false,
      message: `${failure} The previous image ${shortImageId(previous.imageId)} no longer exists, so it cannot be rolled back to.`,
    };
  }

  logger.warn('rolling back to the previous image', { plugin, image: shortImageId(previous.imageId) });
  await engine.exec(buildRemoveArgs(spec.name));
  const rolled = await startAndWait(request, ports, previous.imageId);
  if (rolled.ok) {
    logger.info('plugin healthy', {
      plugin,
      duration: formatSeconds(rolled.healthyAt - rolled.startedAt),
      check: healthCheckLabel(request.health.check),
      rollback: true,
    });
    return {
      status: 'failed',
      rolledBack: true,
      message: `${failure} Rolled back: the previous image ${shortImageId(previous.imageId)} is running again in "${spec.name}".`,
    };
  }
  if (rolled.aborted) return { status: 'failed', rolledBack: false, message: `${failure} The rollback was aborted.` };
  logger.error('rollback failed', { plugin, container: spec.name, reason: rolled.reason });
  if (rolled.created) await showLogs(ports, spec);
  return {
    status: 'failed',
    rolledBack: false,
    message: `${failure} Rolling back to the previous image ${shortImageId(previous.imageId)} failed too: ${rolled.reason}.`,
  };
}

/** Longest pause between health probes after a live update's restart. */
const RESTART_POLL_MS = 50;
/** After a restart, failed probes ask podman whether the container still runs only after this long. */
const RESTART_INSPECT_AFTER_MS = 1000;

/**
 * One live update's restart: the container keeps everything but its process, which runs the new binary.
 * `stopTimeoutSeconds`: how long podman waits for the old process before SIGKILL.
 */
export type RestartRequest = Pick<ReplaceRequest, 'container' | 'health'> & { readonly stopTimeoutSeconds: number };

/** The outcome of {@link restartContainer}; `downtimeMs` from the stop being sent until the new process was healthy. */
export type RestartResult = { status: 'healthy'; downtimeMs: number } | { status: 'failed'; message: string; aborted: boolean };

/**
 * `podman restart` and the same health wait and log lines as a replace. A Go PID 1 stopped by SIGTERM exits with code
 * 2: podman starts it again all the same. On failure the container log's tail is shown, as for a replace.
 */
export async function restartContainer(request: RestartRequest, ports: ReplacePorts): Promise<RestartResult> {
  const { engine, clock } = ports;
  const spec = request.container;
  const stopSentAt = clock.now();
  const restart = await engine.exec(buildRestartArgs(spec.name, request.stopTimeoutSeconds), { signal: ports.signal });
  if (restart.aborted) return { status: 'failed', message: 'aborted', aborted: true };
  if (restart.exitCode !== 0) {
    return {
      status: 'failed',
      aborted: false,
      message: `podman restart of "${spec.name}" failed (exit ${restart.exitCode}): ${(restart.stderr || restart.stdout).trim()}`,
    };
  }
  return awaitRestarted(request, ports, stopSentAt);
}

/**
 * Waits for a process that was just started to pass its health check, where every moment counts (a live update's
 * restart, the hand-back at exit): it starts in about a second, so probes come at most every RESTART_POLL_MS, not at
 * the check's interval (1 s by default), and podman is asked whether the container still runs only after
 * RESTART_INSPECT_AFTER_MS of refused probes.
 */
export function waitStarted(request: ReplaceRequest, ports: ReplacePorts): Promise<StartResult> {
  const health = { ...request.health, intervalMs: Math.min(request.health.intervalMs, RESTART_POLL_MS) };
  return waitHealthy({ ...request, health }, ports, ports.clock.now(), RESTART_INSPECT_AFTER_MS);
}

/**
 * After the container's process was restarted (by `podman restart`, or in place by Delve): waits until the container
 * passes its health check and logs `plugin healthy` with the downtime since `stopSentAt`; on a failure, logs why and
 * shows the container's last log lines.
 */
export async function awaitRestarted(request: Pick<RestartRequest, 'container' | 'health'>, ports: ReplacePorts, stopSentAt: number): Promise<RestartResult> {
  const { logger } = ports;
  const spec = request.container;
  const started = await waitStarted({ container: spec, imageId: '', health: request.health, rollback: false }, ports);
  if (started.ok) {
    logger.info('plugin healthy', {
      plugin: spec.project,
      duration: formatSeconds(started.healthyAt - started.startedAt),
      check: healthCheckLabel(request.health.check),
      downtime: formatSeconds(started.healthyAt - stopSentAt),
    });
    return { status: 'healthy', downtimeMs: started.healthyAt - stopSentAt };
  }
  if (started.aborted) return { status: 'failed', message: 'aborted', aborted: true };
  logger.error('plugin container failed', { plugin: spec.project, container: spec.name, reason: started.reason });
  if (started.created) await showLogs(ports, spec);
  return { status: 'failed', aborted: false, message: `The container "${spec.name}" of "${spec.project}" failed after the live update: ${started.reason}.` };
}
