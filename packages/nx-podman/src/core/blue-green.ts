import { announceDebugSessionEnd } from './delve';
import {
  inspect,
  makePod,
  showLogs,
  startAndWait,
  waitHealthy,
  type StartResult,
  type ReplacePorts,
  type ReplaceRequest,
  type ReplaceResult,
} from './container-steps';
import { healthCheckLabel } from './health-check';
import { backendHealth, backendSpec, type GateListener } from './held-ports';
import { shortImageId } from './image-id';
import { formatSeconds } from './log-format';
import type { Backends } from './request-hold';
import { buildPodRemoveArgs, buildRemoveArgs, buildRenameArgs, buildRunArgs, type ContainerRunSpec } from './run-args';

/** What a blue/green replace drives besides podman: the project's gate on its published ports. */
export interface GateControl {
  readonly listeners: readonly GateListener[];
  /** Whether the gate listens on the published ports (false until the first switch takes them over from podman). */
  listening(): boolean;
  /** Opens the gate's listeners; the failure (a port in use) as a message, or undefined. */
  listen(): Promise<string | undefined>;
  /** Where connections go now; undefined before the first switch. */
  backends(): Backends | undefined;
  /** New and held connections go to `backends`. */
  serve(backends: Backends): void;
  /** Free 127.0.0.1 ports for the next container, one per listener. */
  freePorts(count: number): Promise<number[]>;
}

/** Name of the container a blue/green replace starts next to the serving one; renamed to the project's name after the switch. */
export function nextContainerName(name: string): string {
  return `${name}-next`;
}

/** The pod the serving container runs in: the one named after its backend port, or the project's own before a takeover. */
function servingPod(spec: ContainerRunSpec, backends: Backends | undefined): string | undefined {
  if (spec.pod === undefined) return undefined;
  return backends === undefined ? spec.pod : backendSpec(spec, spec.name, backends).pod;
}

async function removeContainerAndPod(ports: ReplacePorts, name: string, pod: string | undefined, stopTimeoutSeconds?: number): Promise<void> {
  await ports.engine.exec(buildRemoveArgs(name, stopTimeoutSeconds));
  if (pod !== undefined) await ports.engine.exec(buildPodRemoveArgs(pod));
}

/**
 * A replace behind the gate (blue/green): the new image starts next to the serving container on free backend ports,
 * and only once it passes its health check do new connections go to it; then the old container stops gracefully
 * (its running requests finish) and the new one takes the project's container name. A new container that fails is
 * removed and the old one never stopped serving, so that is the rollback. The first replace of a watch takes the
 * published ports over from podman: the old container (publishing them itself) stops only after the new one is
 * healthy, and the gate listens as soon as the ports are free.
 */
export async function replaceBlueGreen(request: ReplaceRequest, ports: ReplacePorts & { gate: GateControl }): Promise<ReplaceResult> {
  const { engine, clock, logger, gate } = ports;
  const spec = request.container;
  const plugin = spec.project;
  const begin = clock.now();
  logger.info('starting plugin container', { plugin, image: shortImageId(request.imageId), next: true });
  const previous = await inspect(ports, spec.name);
  const previousBackends = gate.backends();
  const free = await gate.freePorts(gate.listeners.length);
  const backends: Backends = new Map(gate.listeners.map((listener, index) => [listener.containerPort, free[index] as number]));
  const next = backendSpec(spec, nextContainerName(spec.name), backends);
  const health = backendHealth(request.health, gate.listeners, backends);
  // A next container left by an interrupted watch.
  await engine.exec(buildRemoveArgs(next.name));
  if (next.pod !== undefined) {
    const failure = await makePod(ports, { ...next, pod: next.pod }, true);
    if (failure) return { status: 'failed', rolledBack: false, message: failure };
  }
  const started = await startAndWait({ ...request, container: next, health }, ports, request.imageId);
  if (!started.ok) {
    if (started.aborted) {
      await removeContainerAndPod(ports, next.name, next.pod);
      return { status: 'failed', rolledBack: false, message: 'aborted' };
    }
    logger.error('plugin container failed', { plugin, container: next.name, reason: started.reason });
    if (started.created) await showLogs(ports, next);
    await removeContainerAndPod(ports, next.name, next.pod);
    const serving = previous?.running === true;
    return {
      status: 'failed',
      rolledBack: serving,
      message: `The new container of "${plugin}" (image ${shortImageId(request.imageId)}) failed: ${started.reason}. ${
        serving
          ? `It was removed; "${spec.name}" (image ${shortImageId(previous.imageId)}) never stopped serving.`
          : 'It was removed; no container serves the plugin.'
      }`,
    };
  }
  // At the first replace of a watch the old container may still sit in the pod of an earlier watch's gate
  // (`<name>-pod-<port>`, left by stopOnExit): the pod it runs in goes with it (only podman-run's pods hold its containers).
  const oldPod =
    previous === undefined
      ? undefined
      : previousBackends === undefined && spec.pod !== undefined && previous.podId
        ? previous.podId
        : servingPod(spec, previousBackends);
  if (!gate.listening()) {
    // The takeover: podman publishes the ports for the old container until it stops.
    if (previous) await removeContainerAndPod(ports, spec.name, oldPod, spec.stopTimeoutSeconds);
    else if (spec.pod !== undefined) await engine.exec(buildPodRemoveArgs(spec.pod));
    const refused = await gate.listen();
    gate.serve(backends);
    await engine.exec(buildRenameArgs(next.name, spec.name));
    if (refused !== undefined) return { status: 'failed', rolledBack: false, message: refused };
  } else {
    gate.serve(backends);
    if (previous) await removeContainerAndPod(ports, spec.name, oldPod, spec.stopTimeoutSeconds);
    await engine.exec(buildRenameArgs(next.name, spec.name));
  }
  logger.info('plugin healthy', {
    plugin,
    duration: formatSeconds(started.healthyAt - started.startedAt),
    check: healthCheckLabel(request.health.check),
    downtime: previous?.running ? formatSeconds(0) : undefined,
  });
  announceDebugSessionEnd(previous, spec, logger);
  return {
    status: 'healthy',
    container: spec.name,
    imageId: request.imageId,
    durationMs: started.healthyAt - begin,
    downtimeMs: previous?.running ? 0 : undefined,
  };
}

/**
 * At the watcher's exit, with the containers left running: podman publishes the ports again. The gate has stopped
 * listening (the caller closed it first: the ports must be free); a container with the project's own spec starts next
 * to the one behind the gate, which stops once the new one is healthy. Connections the gate had forwarded finish on
 * the old container; new ones are refused only until podman publishes the ports (measured in docs/watch-reload.md).
 */
export async function handBackPorts(
  request: ReplaceRequest,
  ports: ReplacePorts & { backends: Backends | undefined; carry?: { path: string; hostFile: string } },
): Promise<ReplaceResult> {
  const { engine, clock, logger } = ports;
  const spec = request.container;
  const begin = clock.now();
  const next = { ...spec, name: nextContainerName(spec.name) };
  await engine.exec(buildRemoveArgs(next.name));
  if (next.pod !== undefined) {
    const failure = await makePod(ports, { ...next, pod: next.pod }, true);
    if (failure) return { status: 'failed', rolledBack: false, message: failure };
  }
  const started = ports.carry
    ? await startCarrying(request, ports, next, ports.carry)
    : await startAndWait({ ...request, container: next }, ports, request.imageId);
  if (!started.ok) {
    logger.error('could not hand the ports back to podman', { plugin: spec.project, reason: started.reason, fix: `nx run ${spec.project}:podman-run` });
    await engine.exec(buildRemoveArgs(next.name));
    return { status: 'failed', rolledBack: false, message: started.reason };
  }
  // The old container keeps its name until it is gone: stopping it by name never touches the new one.
  await removeContainerAndPod(ports, spec.name, servingPod(spec, ports.backends), spec.stopTimeoutSeconds);
  await engine.exec(buildRenameArgs(next.name, spec.name));
  return { status: 'healthy', container: spec.name, imageId: request.imageId, durationMs: clock.now() - begin, downtimeMs: undefined };
}

/**
 * The new container of a hand-back when the old one runs live-updated code: created, the binary copied over from the
 * old container (through `hostFile`: `podman cp` goes between a container and the host), then started, so that what
 * keeps running after the watcher is the code the developer saved, not the image's.
 */
async function startCarrying(
  request: ReplaceRequest,
  ports: ReplacePorts,
  next: ContainerRunSpec,
  carry: { path: string; hostFile: string },
): Promise<StartResult> {
  const { engine } = ports;
  const { args, env } = buildRunArgs(next, request.imageId);
  const steps: [string, string[], Record<string, string> | undefined][] = [
    ['podman create', ['create', ...args.slice(2)], env],
    ['podman cp from the old container', ['cp', `${request.container.name}:${carry.path}`, carry.hostFile], undefined],
    ['podman cp into the new container', ['cp', carry.hostFile, `${next.name}:${carry.path}`], undefined],
    ['podman start', ['start', next.name], undefined],
  ];
  for (const [what, stepArgs, stepEnv] of steps) {
    const result = await engine.exec(stepArgs, stepEnv ? { env: stepEnv } : undefined);
    if (result.exitCode !== 0)
      return { ok: false, reason: `${what} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim()}`, created: true, aborted: false };
  }
  return waitHealthy({ ...request, container: next }, ports, ports.clock.now());
}
