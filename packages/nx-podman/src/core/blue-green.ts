import { announceDebugSessionEnd } from './delve';
import {
  inspect,
  makeFreshPod,
  nameTaken,
  showLogs,
  startAndWait,
  waitStarted,
  type StartResult,
  type PodmanCalls,
  type ReplacePorts,
  type ReplaceRequest,
  type ReplaceResult,
} from './container-steps';
import { keepPodStopped, makePodForExit } from './exit-pod';
import { healthCheckLabel } from './health-check';
import { backendHealth, backendSpec, type GateListener } from './held-ports';
import { shortImageId } from './image-id';
import { formatSeconds } from './log-format';
import type { PodmanEngine, ProcessResult } from './ports';
import type { Backends } from './request-hold';
import { endedBySignal, execRetryingSignals } from './podman-retry';
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

async function removeContainerAndPod(ports: PodmanCalls, name: string, pod: string | undefined, stopTimeoutSeconds?: number): Promise<void> {
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
  // A next container left by an interrupted watch; at a watch's first replace, an old one its exit could not remove.
  await engine.exec(buildRemoveArgs(next.name));
  if (previousBackends === undefined) await removeRetired(ports, spec);
  if (next.pod !== undefined) {
    const failure = await makeFreshPod(ports, { ...next, pod: next.pod });
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
    if (previous) await engine.exec(buildRemoveArgs(spec.name, spec.stopTimeoutSeconds));
    const kept = await keepPodStopped(ports, spec, oldPod);
    const refused = await gate.listen();
    gate.serve(backends);
    await engine.exec(buildRenameArgs(next.name, spec.name));
    if (!kept && spec.pod !== undefined && refused === undefined) await makePodForExit(ports, { ...spec, pod: spec.pod });
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

/** Name the container behind the gate takes at a hand-back, once the new one is healthy, until it is removed. */
export function retiredContainerName(name: string): string {
  return `${name}-old`;
}

/** How many times in all a hand-back prepares its container when Nx's signals end a podman call of it. */
const PREPARE_ATTEMPTS = 3;
/** Pause before preparing again. */
const PREPARE_RETRY_PAUSE_MS = 250;
/** How long a hand-back's container must run to pass the `running` check (no health check configured). */
const HAND_BACK_GRACE_MS = 500;

/** What a hand-back needs besides podman: the gate's listeners and how long the old container may take to stop. */
export interface HandBackPorts extends ReplacePorts {
  backends: Backends | undefined;
  /**
   * The old container runs live-updated code: its binary at `path` goes into the new container, from `hostPath` when
   * that is the old container's file as this host sees it (root podman, its root file system mounted), else copied out
   * through `hostFile`.
   */
  carry?: { path: string; hostFile: string; hostPath?: string };
  /** Stops the gate listening on the project's ports (they must be free for podman to publish them). */
  closeListeners(): Promise<void>;
  /** How long the old container gets between SIGTERM and SIGKILL (Nx kills the watcher ~5 s after Ctrl-C). */
  retireTimeoutSeconds: number;
}

/** The container that was behind the gate, once a hand-back's container serves: {@link retireAll} removes it. */
export interface Retired {
  name: string;
  /** Its pod (`<name>-pod-<port>`), removed with it. */
  pod: string | undefined;
  stopTimeoutSeconds: number;
}

/** What {@link handBackPorts} did: on success, `retired` is the container that was behind the gate. */
export type HandBackResult =
  | {
      status: 'healthy';
      /** From the start until the new container served under the project's name. */
      durationMs: number;
      /**
       * Step 3, left to the caller ({@link retireAll}) so that every plugin's ports come back before any old container
       * is waited for; undefined when it is gone already.
       */
      retired: Retired | undefined;
    }
  | { status: 'failed'; message: string };

/**
 * At the watcher's exit, with the containers left running: podman publishes the ports again. Ordered for Nx's
 * shutdown, which signals the task's process tree in its first moments and SIGKILLs it ~5 s later, and with as few
 * podman calls as it can (each costs a podman process, one hand-back per plugin at once):
 * 1. while the gate still serves, the old container is renamed out of the way (`<name>-old`) and a container with the
 *    project's own spec and name (configured ports, pod `<name>-pod`) is created (podman binds ports only at start),
 *    with the live-updated binary copied in; a podman call that a signal ended makes the preparation start over;
 * 2. the gate stops listening, the new container starts and passes its health check;
 * 3. ({@link retireAll}) the old one gets SIGTERM, a bounded wait, then goes with its pod. If the watcher is killed before it
 *    is gone, it stops by itself and the next watch removes it ({@link removeRetired}).
 * When the old container cannot be renamed, the new one is made as `<name>-next`, and the old one is removed before
 * the new one takes the name. When the new container fails, it is removed and the old one gets its name back.
 */
export async function handBackPorts(request: ReplaceRequest, ports: HandBackPorts): Promise<HandBackResult> {
  const { engine, clock, logger } = ports;
  const spec = request.container;
  const begin = clock.now();
  const progress: HandBackProgress = { outOfTheWay: false, created: undefined };
  let prepared = await prepareNext(request, ports, progress);
  for (let attempt = 2; !prepared.ok && prepared.signalled && attempt <= PREPARE_ATTEMPTS; attempt++) {
    logger.debug('podman call ended by a signal; preparing the hand-back again', { plugin: spec.project, reason: prepared.reason });
    await clock.sleep(PREPARE_RETRY_PAUSE_MS);
    prepared = await prepareNext(request, ports, progress);
  }
  const old = { name: progress.outOfTheWay ? retiredContainerName(spec.name) : spec.name, pod: servingPod(spec, ports.backends) };
  const next: ContainerRunSpec = { ...spec, name: progress.outOfTheWay ? spec.name : nextContainerName(spec.name) };
  await ports.closeListeners();
  const started = prepared.ok ? await startPrepared(request, ports, next) : prepared;
  if (!started.ok) {
    logger.error('could not hand the ports back to podman', { plugin: spec.project, reason: started.reason, fix: `nx run ${spec.project}:podman-run` });
    if (progress.created !== undefined) await engine.exec(buildRemoveArgs(progress.created));
    if (progress.outOfTheWay) await engine.exec(buildRenameArgs(old.name, spec.name));
    return { status: 'failed', message: started.reason };
  }
  const retired: Retired = { ...old, stopTimeoutSeconds: Math.min(spec.stopTimeoutSeconds, ports.retireTimeoutSeconds) };
  if (!progress.outOfTheWay) {
    // The old container still has the name: it goes first (its stop is waited for), then the new one takes the name.
    await retireAll(ports, [retired], retired.stopTimeoutSeconds);
    await engine.exec(buildRenameArgs(next.name, spec.name));
  }
  return { status: 'healthy', durationMs: clock.now() - begin, retired: progress.outOfTheWay ? retired : undefined };
}

/** What a hand-back's preparations have done so far, kept across attempts. */
interface HandBackProgress {
  /** The old container is `<name>-old`, and the new one is made as `<name>`. */
  outOfTheWay: boolean;
  /** The new container, once a `create` made it. */
  created: string | undefined;
}

type Prepared = { ok: true } | { ok: false; reason: string; signalled: boolean };

/**
 * Step 1 of a hand-back: the old container out of the way, the new one created (not started: its ports are still the
 * gate's) with the binary in. `signalled` when a signal (Nx's, in its first moments after Ctrl-C) ended one of its
 * podman calls.
 */
async function prepareNext(request: ReplaceRequest, ports: HandBackPorts, progress: HandBackProgress): Promise<Prepared> {
  const spec = request.container;
  let signalled = false;
  const engine: Pick<PodmanEngine, 'exec'> = {
    async exec(args, options) {
      const result = await ports.engine.exec(args, options);
      // `pod create` and `create` print the new id; `rename`, `rm` and `cp` print nothing unless they fail.
      const printsOnSuccess = args[0] === 'create' || (args[0] === 'pod' && args[1] === 'create');
      if (endedBySignal(result, printsOnSuccess) || (result.exitCode !== 0 && !result.stderr.trim() && !result.stdout.trim())) signalled = true;
      return result;
    },
  };
  if (!progress.outOfTheWay) progress.outOfTheWay = await renameOutOfTheWay({ ...ports, engine }, spec);
  if (signalled) return { ok: false, reason: 'podman rename ended by a signal', signalled };
  const next: ContainerRunSpec = { ...spec, name: progress.outOfTheWay ? spec.name : nextContainerName(spec.name) };
  const source = progress.outOfTheWay ? retiredContainerName(spec.name) : spec.name;
  // Only a `-next` name, or a container this hand-back made, may be removed blindly: `<name>` may still be the old one.
  if (next.name !== spec.name || progress.created === next.name) await engine.exec(buildRemoveArgs(next.name));
  progress.created = undefined; // removed just now, if there was one
  const { args, env } = buildRunArgs(next, request.imageId);
  const create = () => engine.exec(['create', ...args.slice(2)], { env });
  // The project's pod, stopped and kept since the takeover, takes the container; without it, it is made first.
  let created = await create();
  if (created.exitCode !== 0 && next.pod !== undefined && noSuchPod(created)) {
    const failure = await makeFreshPod({ engine, logger: ports.logger }, { ...next, pod: next.pod });
    if (failure) return { ok: false, reason: failure, signalled };
    created = await create();
  }
  if (created.exitCode !== 0 && nameTaken(created)) {
    if (next.name === spec.name) {
      // The rename did not happen after all (a signal ended it, quietly): the preparation starts over with it.
      progress.outOfTheWay = false;
      return { ok: false, reason: `the name "${spec.name}" is still the old container's`, signalled: true };
    }
    // A next container an interrupted replace or hand-back left in another pod.
    await engine.exec(buildRemoveArgs(next.name));
    created = await create();
  }
  const failed = (what: string, result: ProcessResult): Prepared => ({
    ok: false,
    reason: `${what} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim()}`,
    signalled,
  });
  if (created.exitCode !== 0) return failed('podman create', created);
  progress.created = next.name;
  const carry = ports.carry;
  if (carry) {
    let from = carry.hostPath;
    if (from === undefined) {
      const out = await engine.exec(['cp', `${source}:${carry.path}`, carry.hostFile]);
      if (out.exitCode !== 0) return failed('podman cp from the old container', out);
      from = carry.hostFile;
    }
    const into = await engine.exec(['cp', from, `${next.name}:${carry.path}`]);
    if (into.exitCode !== 0) return failed('podman cp into the new container', into);
  }
  return signalled ? { ok: false, reason: 'a podman call ended by a signal', signalled } : { ok: true };
}

/** Whether podman refused to create a container because its pod does not exist. */
function noSuchPod(result: Pick<ProcessResult, 'stderr'>): boolean {
  return /no such pod|no pod with name/.test(result.stderr);
}

/**
 * The old container takes the name `<name>-old`; one an earlier watch's exit left under that name (killed before it
 * could remove it) is removed first. False when it keeps its name.
 */
async function renameOutOfTheWay(ports: PodmanCalls, spec: ContainerRunSpec): Promise<boolean> {
  const rename = () => ports.engine.exec(buildRenameArgs(spec.name, retiredContainerName(spec.name)));
  let renamed = await rename();
  if (renamed.exitCode !== 0 && nameTaken(renamed)) {
    await removeRetired(ports, spec);
    renamed = await rename();
  }
  return renamed.exitCode === 0;
}

/** Step 2: the prepared container starts (podman publishes the ports) and passes its health check. */
async function startPrepared(request: ReplaceRequest, ports: HandBackPorts, next: ContainerRunSpec): Promise<StartResult | Prepared> {
  const started = await execRetryingSignals(ports.engine, ['start', next.name], { clock: ports.clock, printsOnSuccess: true });
  if (started.exitCode !== 0)
    return { ok: false, reason: `podman start failed (exit ${started.exitCode}): ${(started.stderr || started.stdout).trim()}`, signalled: false };
  // No health check configured: the same image and binary just served behind the gate, so the check that it does not
  // exit at once is kept short (Nx's grace period is ~5 s for every plugin).
  const check = request.health.check;
  const health = check.kind === 'running' ? { ...request.health, check: { ...check, graceMs: Math.min(check.graceMs, HAND_BACK_GRACE_MS) } } : request.health;
  return waitStarted({ ...request, container: next, health }, ports);
}

/**
 * Step 3 of every plugin's hand-back at once: the old containers stop (SIGTERM, SIGKILL after at most
 * `timeoutSeconds` and their own stop timeout, whole seconds) and go with their pods, in one podman call for them all
 * (one more for containers without a pod, and one per other stop timeout): at exit every call counts, each a podman
 * process on a machine that runs one hand-back per plugin at once. SIGTERM is sent first thing, so a watcher killed
 * during the wait still leaves containers that stop by themselves, which the next watch removes.
 */
export async function retireAll(ports: PodmanCalls, retired: readonly Retired[], timeoutSeconds: number): Promise<void> {
  const groups = new Map<number, { pods: string[]; containers: string[] }>();
  for (const old of retired) {
    const seconds = Math.max(0, Math.floor(Math.min(old.stopTimeoutSeconds, timeoutSeconds)));
    const group = groups.get(seconds) ?? { pods: [], containers: [] };
    groups.set(seconds, group);
    // Removing the pod removes the container in it.
    if (old.pod === undefined) group.containers.push(old.name);
    else group.pods.push(old.pod);
  }
  await Promise.all(
    [...groups].flatMap(([seconds, { pods, containers }]) => [
      pods.length > 0 ? ports.engine.exec(buildPodRemoveArgs(pods, seconds)) : undefined,
      containers.length > 0 ? ports.engine.exec(buildRemoveArgs(containers, seconds)) : undefined,
    ]),
  );
}

/**
 * The container an earlier watch's hand-back renamed out of the way and could not remove before Nx killed it
 * (`<name>-old`, behind that watch's gate): removed with the pod it runs in.
 */
export async function removeRetired(ports: PodmanCalls, spec: ContainerRunSpec): Promise<void> {
  const name = retiredContainerName(spec.name);
  const state = await inspect(ports, name);
  if (state === undefined) return;
  ports.logger.debug('removing a container an earlier watch left', { plugin: spec.project, container: name });
  await removeContainerAndPod(ports, name, state.podId && state.podId !== spec.pod ? state.podId : undefined, 0);
}
