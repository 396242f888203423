/**
 * The project's pod `<name>-pod` across a watch that holds requests: kept (stopped, or made and never started) from the
 * takeover on, so that the exit's hand-back only creates and starts its container in it.
 */
import { makeFreshPod, type PodmanCalls } from './container-steps';
import { buildPodRemoveArgs, buildPodStopArgs, type ContainerRunSpec } from './run-args';

/**
 * At the takeover, once the old container is gone: the project's own pod (`<name>-pod`, made by podman-run) stops, which
 * frees the ports its infra container published, and is kept for the exit's hand-back to start its container in (one
 * podman call fewer per plugin at exit, when Nx's grace period counts). The pod the old container ran in, when another
 * one (a gate's pod a killed watch left), is removed. True when the project's pod was there to keep.
 */
export async function keepPodStopped(ports: PodmanCalls, spec: ContainerRunSpec, oldPod: string | undefined): Promise<boolean> {
  if (spec.pod === undefined) {
    if (oldPod !== undefined) await ports.engine.exec(buildPodRemoveArgs(oldPod));
    return false;
  }
  const stopped = await ports.engine.exec(buildPodStopArgs(spec.pod));
  const keptId = stopped.exitCode === 0 ? stopped.stdout.trim() : '';
  if (oldPod !== undefined && oldPod !== spec.pod && (keptId === '' || !(keptId.startsWith(oldPod) || oldPod.startsWith(keptId))))
    await ports.engine.exec(buildPodRemoveArgs(oldPod));
  return keptId !== '';
}

/**
 * Without a pod to keep (the watch started the plugin), the takeover makes it once the gate serves: created, never
 * started, it binds no port (podman binds them when its infra starts), so it waits for the exit's hand-back. A failure
 * only costs the exit a pod create.
 */
export async function makePodForExit(ports: PodmanCalls, spec: ContainerRunSpec & { pod: string }): Promise<void> {
  const failure = await makeFreshPod(ports, spec);
  if (failure) ports.logger.debug('the pod for the exit is made at exit', { plugin: spec.project, reason: failure });
}
