import { fullImageId } from './image-id';
/** Label naming the Nx project on every container `podman-run` creates. */
export const PROJECT_LABEL = 'io.prism.nx-podman.project';
/** Label naming the build stage (`production`, `debug`, ...) on every container `podman-run` creates. */
export const STAGE_LABEL = 'io.prism.nx-podman.stage';
/** Label carrying the full id of the image the container runs. */
export const IMAGE_LABEL = 'io.prism.nx-podman.image';
/** Label on a pod podman-run creates: the ports and network it was created with ({@link podConfig}). */
export const POD_CONFIG_LABEL = 'io.prism.nx-podman.pod-config';
/** Prefix reserved for the plugin's own labels; user `labels` may not use it. */
export const RESERVED_LABEL_PREFIX = 'io.prism.nx-podman.';

/** Everything about a plugin container except the image, normalized: no optional fields, no defaults left to apply. */
export interface ContainerRunSpec {
  /** Container name, e.g. `postgres-plugin` or `postgres-plugin-debug`. */
  readonly name: string;
  /** Nx project name (label value). */
  readonly project: string;
  /** Build stage (label value). */
  readonly stage: string;
  /** Normalized `-p` values, always with a host address: `127.0.0.1:9090:9090`, `0.0.0.0:8080:80/udp`. */
  readonly ports: readonly string[];
  /** Environment of the container. Values travel through the podman child's environment, never its arguments. */
  readonly env: Readonly<Record<string, string>>;
  /** Absolute paths of `--env-file` files. */
  readonly envFiles: readonly string[];
  /** `-v` values, host paths already resolved. */
  readonly volumes: readonly string[];
  /** `--network` value, or undefined for podman's default. */
  readonly network: string | undefined;
  /**
   * Pod that holds the container's network and published ports (`ports` and `network` go to the pod), or undefined
   * when the container has its own. A pod's infra container keeps the network up while the plugin's container
   * restarts, so a restart skips the network's teardown and set-up (0.3 s of 0.75 s here).
   */
  readonly pod: string | undefined;
  /** User labels (the plugin's own labels are added by {@link buildRunArgs}). */
  readonly labels: Readonly<Record<string, string>>;
  /** Extra `podman run` arguments, inserted before the image. */
  readonly extraArgs: readonly string[];
  /** Command and arguments after the image; empty = the image's default. */
  readonly command: readonly string[];
  /** Seconds podman waits after SIGTERM before SIGKILL (`podman stop --time`, `podman run --stop-timeout`). */
  readonly stopTimeoutSeconds: number;
}

/** A `podman run` invocation: the argument array and the environment its child process needs for `--env NAME`. */
export interface RunInvocation {
  args: string[];
  /** Values for the `--env NAME` arguments. Pass as the child's environment; never log. */
  env: Record<string, string>;
}

/**
 * Builds `run -d ...` for a container spec and an image (an id or a reference that exists locally).
 * Env values are not in the arguments: `--env NAME` makes podman read NAME from its own environment, so values
 * never appear in process listings, logs or error messages that quote the command.
 */
export function buildRunArgs(spec: ContainerRunSpec, image: string, imageId: string = image): RunInvocation {
  const args = ['run', '-d', '--name', spec.name, '--pull=never', '--stop-timeout', String(spec.stopTimeoutSeconds)];
  for (const [key, value] of Object.entries(spec.labels)) args.push('--label', `${key}=${value}`);
  args.push('--label', `${PROJECT_LABEL}=${spec.project}`, '--label', `${STAGE_LABEL}=${spec.stage}`, '--label', `${IMAGE_LABEL}=${imageId}`);
  if (spec.pod !== undefined) args.push('--pod', spec.pod);
  else for (const port of spec.ports) args.push('-p', port);
  for (const file of spec.envFiles) args.push('--env-file', file);
  // After --env-file so that explicit values win, as on the podman command line.
  for (const name of Object.keys(spec.env)) args.push('--env', name);
  for (const volume of spec.volumes) args.push('-v', volume);
  if (spec.network !== undefined && spec.pod === undefined) args.push('--network', spec.network);
  args.push(...spec.extraArgs, image, ...spec.command);
  return { args, env: { ...spec.env } };
}

/** What a pod is created with, as the {@link POD_CONFIG_LABEL} value: a pod with another value is made again. */
export function podConfig(spec: Pick<ContainerRunSpec, 'ports' | 'network'>): string {
  return JSON.stringify({ ports: spec.ports, network: spec.network ?? null });
}

/** Name of the infra container of the pod {@link buildPodCreateArgs} makes: `<pod>-infra`. */
export function podInfraName(pod: string): string {
  return `${pod}-infra`;
}

/**
 * `pod create` for a spec with a pod: the pod shares only the network namespace (the container keeps its own
 * hostname and IPC) and publishes the spec's ports. It keeps running when its container stops (exit policy
 * `continue`), so a restart does not tear the network down.
 */
export function buildPodCreateArgs(spec: ContainerRunSpec): string[] {
  if (spec.pod === undefined) throw new Error(`container "${spec.name}" has no pod`);
  const args = ['pod', 'create', '--name', spec.pod, '--infra-name', podInfraName(spec.pod), '--share', 'net'];
  args.push('--label', `${PROJECT_LABEL}=${spec.project}`, '--label', `${POD_CONFIG_LABEL}=${podConfig(spec)}`);
  for (const port of spec.ports) args.push('-p', port);
  if (spec.network !== undefined) args.push('--network', spec.network);
  return args;
}

/** `pod inspect NAME` (a JSON object on stdout; exit 125 when missing). */
export function buildPodInspectArgs(pod: string): string[] {
  return ['pod', 'inspect', pod];
}

/**
 * `pod rm --force --ignore [--time N] NAME`: removes the pod, its infra container and any container left in it (a
 * running one stopped with SIGTERM, SIGKILL after N s, or its own stop timeout).
 */
export function buildPodRemoveArgs(pod: string | readonly string[], stopTimeoutSeconds?: number): string[] {
  return ['pod', 'rm', '--force', '--ignore', ...(stopTimeoutSeconds === undefined ? [] : ['--time', String(stopTimeoutSeconds)]), ...[pod].flat()];
}

/**
 * `pod stop --ignore POD`: its infra container stops and the ports it published are free; the pod stays for a container
 * to start in later (starting a container in a stopped pod starts its infra first). Prints the pod's id.
 */
export function buildPodStopArgs(pod: string): string[] {
  return ['pod', 'stop', '--ignore', pod];
}

/** The pod's id in `podman pod inspect` output, or undefined when it is not a pod. */
export function parsePodId(json: string): string | undefined {
  try {
    const value = JSON.parse(json) as unknown;
    const first = (Array.isArray(value) ? value[0] : value) as { Id?: unknown } | undefined;
    return typeof first?.Id === 'string' ? first.Id : undefined;
  } catch {
    return undefined;
  }
}

/** The {@link POD_CONFIG_LABEL} of `podman pod inspect` output; '' when the pod has none, undefined when it is not a pod. */
export function parsePodConfig(json: string): string | undefined {
  try {
    const value = JSON.parse(json) as unknown;
    const first = (Array.isArray(value) ? value[0] : value) as { Id?: unknown; Labels?: Record<string, unknown> | null } | undefined;
    if (!first || typeof first.Id !== 'string') return undefined;
    const label = first.Labels?.[POD_CONFIG_LABEL];
    return typeof label === 'string' ? label : '';
  } catch {
    return undefined;
  }
}

/** `kill --signal SIGNAL NAME`: delivers the signal and returns (exit 125 when the container is not running). */
export function buildKillArgs(name: string, signal: 'SIGTERM' | 'SIGKILL'): string[] {
  return ['kill', '--signal', signal, name];
}

/** `wait --condition stopped NAME`: returns once the container is no longer running. */
export function buildWaitStoppedArgs(name: string): string[] {
  return ['wait', '--condition', 'stopped', name];
}

/**
 * `rm --force --ignore [--time N] NAME`: a missing container is not an error. With a stop timeout, a running
 * container is stopped (SIGTERM, SIGKILL after N s) and removed in one podman process instead of a `stop` and an `rm`.
 */
export function buildRemoveArgs(name: string | readonly string[], stopTimeoutSeconds?: number): string[] {
  return ['rm', '--force', '--ignore', ...(stopTimeoutSeconds === undefined ? [] : ['--time', String(stopTimeoutSeconds)]), ...[name].flat()];
}

/** `logs --tail N NAME`. */
export function buildLogsArgs(name: string, tail: number): string[] {
  return ['logs', '--tail', String(tail), name];
}

/** `podman restart`: a new process in the same container (ports, env, volumes and its files kept). */
export function buildRestartArgs(container: string, stopTimeoutSeconds: number): string[] {
  return ['restart', '--time', String(stopTimeoutSeconds), container];
}

/** `container inspect NAME` (JSON array on stdout; exit 125 when missing). */
export function buildInspectArgs(name: string): string[] {
  return ['container', 'inspect', name];
}

/** The parts of `podman container inspect` that the replace sequence needs. */
export interface ContainerState {
  /** The container's own id ('' when podman did not say). */
  id: string;
  /** Full image id the container runs. */
  imageId: string;
  /** `created`, `running`, `exited`, `stopped`, `paused`, ... */
  status: string;
  running: boolean;
  exitCode: number;
  /** podman's own health status when the image has a HEALTHCHECK (`starting`, `healthy`, `unhealthy`), else ''. */
  health: string;
  /** Where podman mounted the container's root file system ('' when it did not say: not running, another driver). */
  rootfs: string;
  /** The file conmon (the container's monitor) writes its pid to ('' when podman did not say). */
  conmonPidFile?: string;
  /** The container's process on the host (its pid 1), when it runs. */
  pid?: number;
  /** What the container runs: `Path` and `Args` (the entrypoint and command, as executed). */
  command?: string[];
  /** The id of the pod the container runs in, if any. */
  podId?: string;
  /** Published ports by `<port>/<protocol>` (a pod's, for a container in one). */
  ports?: Record<string, { hostIp: string; hostPort: string }[]>;
}

/** Parses `podman container inspect` output; undefined when it is not a container description. */
export function parseContainerInspect(json: string): ContainerState | undefined {
  try {
    const value = JSON.parse(json) as unknown;
    const first = (Array.isArray(value) ? value[0] : value) as
      | {
          Id?: string;
          Image?: string;
          State?: { Status?: string; Running?: boolean; ExitCode?: number; Pid?: number; Health?: { Status?: string }; Healthcheck?: { Status?: string } };
          GraphDriver?: { Data?: { MergedDir?: string } };
          ConmonPidFile?: string;
          Pod?: string;
          Path?: string;
          Args?: unknown;
          NetworkSettings?: { Ports?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null };
        }
      | undefined;
    if (!first || typeof first.Image !== 'string' || !first.State) return undefined;
    const state = first.State;
    return {
      id: typeof first.Id === 'string' ? first.Id : '',
      imageId: fullImageId(first.Image),
      status: state.Status ?? '',
      running: state.Running === true,
      exitCode: typeof state.ExitCode === 'number' ? state.ExitCode : 0,
      health: state.Health?.Status ?? state.Healthcheck?.Status ?? '',
      rootfs: typeof first.GraphDriver?.Data?.MergedDir === 'string' ? first.GraphDriver.Data.MergedDir : '',
      ...(typeof first.ConmonPidFile === 'string' && first.ConmonPidFile !== '' && { conmonPidFile: first.ConmonPidFile }),
      ...(typeof state.Pid === 'number' && state.Pid > 0 && { pid: state.Pid }),
      ...(typeof first.Pod === 'string' && first.Pod !== '' && { podId: first.Pod }),
      ...(typeof first.Path === 'string' && {
        command: [first.Path, ...(Array.isArray(first.Args) ? first.Args.filter((arg): arg is string => typeof arg === 'string') : [])],
      }),
      ...(first.NetworkSettings?.Ports && { ports: publishedPorts(first.NetworkSettings.Ports) }),
    };
  } catch {
    return undefined;
  }
}

function publishedPorts(ports: Record<string, { HostIp?: string; HostPort?: string }[] | null>): Record<string, { hostIp: string; hostPort: string }[]> {
  return Object.fromEntries(
    Object.entries(ports).map(([port, bindings]) => [
      port,
      (bindings ?? []).map((binding) => ({ hostIp: binding.HostIp ?? '', hostPort: binding.HostPort ?? '' })),
    ]),
  );
}

/** Why a `ports` entry was rejected. */
export class PortSpecError extends Error {}

const PORT_PART = /^\d{1,5}(-\d{1,5})?$/;

/**
 * Normalizes one `ports` entry to `HOST_IP:HOST_PORT:CONTAINER_PORT[/PROTO]`, binding to 127.0.0.1 unless a host
 * address is given: `9090` → `127.0.0.1:9090:9090`, `8080:9090` → `127.0.0.1:8080:9090`,
 * `0.0.0.0:9090:9090` and `[::1]:9090:9090` are kept. An empty host port (`127.0.0.1::9090`) lets podman choose.
 * Throws {@link PortSpecError} for anything else.
 */
export function normalizePort(value: string | number): string {
  const text = String(value).trim();
  const [mapping = '', protocol, ...rest] = text.split('/');
  if (rest.length > 0 || (protocol !== undefined && !/^(tcp|udp|sctp)$/.test(protocol))) {
    throw new PortSpecError(`unknown protocol in "${text}" (expected tcp, udp or sctp)`);
  }
  const suffix = protocol === undefined ? '' : `/${protocol}`;
  let host = '127.0.0.1';
  let ports = mapping;
  const bracketed = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(mapping);
  if (bracketed) {
    host = `[${bracketed[1]}]`;
    ports = bracketed[2] ?? '';
    if (!ports.includes(':')) throw new PortSpecError(`"${text}" has a host address but no host port (use "${host}:9090:9090")`);
  } else {
    const parts = mapping.split(':');
    if (parts.length === 3) {
      host = parts[0] ?? '';
      ports = `${parts[1]}:${parts[2]}`;
      if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(host))
        throw new PortSpecError(`"${host}" in "${text}" is not an IPv4 address (IPv6 goes in brackets: "[::1]:9090:9090")`);
    } else if (parts.length > 3) {
      throw new PortSpecError(`"${text}" has too many ":" (IPv6 host addresses go in brackets: "[::1]:9090:9090")`);
    }
  }
  const [hostPort, containerPort] = ports.includes(':') ? ports.split(':') : [ports, ports];
  if (containerPort === undefined || !PORT_PART.test(containerPort) || !(hostPort === '' || PORT_PART.test(hostPort ?? ''))) {
    throw new PortSpecError(`"${text}" is not a port mapping (expected "9090", "8080:9090" or "0.0.0.0:9090:9090")`);
  }
  for (const port of [...(hostPort ?? '').split('-'), ...containerPort.split('-')]) {
    if (port !== '' && (Number(port) < 1 || Number(port) > 65535)) throw new PortSpecError(`port ${port} in "${text}" is out of range 1-65535`);
  }
  return `${host}:${hostPort}:${containerPort}${suffix}`;
}

/** `rename OLD NEW`: a running container keeps running under its new name. */
export function buildRenameArgs(from: string, to: string): string[] {
  return ['rename', from, to];
}
