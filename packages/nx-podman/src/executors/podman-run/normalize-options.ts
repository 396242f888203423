import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { HealthCheck, HealthSettings } from '../../core/health-check';
import type { PodmanConnection } from '../../core/podman-version';
import { normalizePort, PortSpecError, RESERVED_LABEL_PREFIX, type ContainerRunSpec } from '../../core/run-args';
import type { HealthCheckObjectOption, PodmanRunExecutorSchema } from './schema';
import { definedOnly, isStageName, STAGE_NAME_EXPECTED, type TargetOverrides } from '../../core/stage-name';

/** `podman-run` options after defaults and validation: frozen, no optional fields. */
export interface NormalizedPodmanRunOptions {
  readonly project: string;
  readonly stage: string;
  readonly workspaceRoot: string;
  readonly connection: PodmanConnection;
  /** The `image` option (id or local reference), or undefined to run the image the last `podman-build` recorded. */
  readonly image: string | undefined;
  /** The container to create (name, ports, env, ...). */
  readonly container: ContainerRunSpec;
  readonly health: HealthSettings;
  /** Restart the previous image when the new container fails. */
  readonly rollback: boolean;
}

/** What the executor knows besides the options. */
export interface PodmanRunContext {
  projectName: string;
  projectRoot: string;
  workspaceRoot: string;
  env?: NodeJS.ProcessEnv;
  /** Already validated values set over the options (watch-reload's stage and connection). */
  overrides?: TargetOverrides;
}

/** `extraArgs` that configure the network: in a pod they belong to the pod, so podman refuses them on its container. */
const NETWORK_ARGS = [
  '-p',
  '--publish',
  '-P',
  '--publish-all',
  '--network',
  '--net',
  '--pod',
  '--pod-id-file',
  '--add-host',
  '--dns',
  '--dns-option',
  '--dns-search',
  '--ip',
  '--ip6',
  '--mac-address',
  '--network-alias',
  '--no-hosts',
  '--http-proxy',
];

/**
 * Why the container cannot join a pod ({@link ContainerRunSpec.pod}), or undefined when it can: a network with no
 * network namespace of its own to hold (`host`, `none`, another container's or a path), or network settings in
 * `extraArgs` (podman takes those only on the pod).
 */
function podConflictOf(network: string | undefined, extraArgs: readonly string[]): string | undefined {
  if (network !== undefined && /^(host|none|private|container:|ns:)/.test(network)) return `"network": "${network}" leaves no network for a pod to hold.`;
  const flag = extraArgs.find((arg) => NETWORK_ARGS.includes(arg.split('=')[0] ?? ''));
  if (flag !== undefined) return `"extraArgs" has "${flag}", which podman takes only on the pod, not on a container in it.`;
  return undefined;
}

/** Defaults of the options, keyed like schema.json (whose `default`s must equal these: a test checks). */
export const PODMAN_RUN_DEFAULTS = {
  podman: 'podman',
  remote: false,
  stage: 'production',
  ports: [],
  env: {},
  volumes: [],
  labels: {},
  extraArgs: [],
  stopTimeout: 10,
  healthTimeoutSeconds: 30,
  healthIntervalSeconds: 1,
  /** Without a health check: how long a new container must stay up. */
  startGraceMs: 2000,
  rollback: true,
} as const satisfies Partial<Record<keyof PodmanRunExecutorSchema, unknown>> & Record<string, unknown>;

/** Thrown for invalid `podman-run` options; the message names the option, the value and the fix. */
export class PodmanRunOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PodmanRunOptionsError';
  }
}

function fail(option: string, value: unknown, fix: string): never {
  throw new PodmanRunOptionsError(`Invalid podman-run option "${option}": ${JSON.stringify(value)}. ${fix}`);
}

function stringArray(option: string, value: unknown, example: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) fail(option, value, `Expected an array of strings, e.g. ${example}.`);
  return [...(value as string[])];
}

function positiveSeconds(option: string, value: unknown, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    fail(option, value, `Expected a number of seconds${allowZero ? ' (0 or more)' : ' greater than 0'}.`);
  }
  return value;
}

/** Default container name: `<project>-plugin` for production, `<project>-plugin-<stage>` (e.g. `-debug`) otherwise. */
export function defaultContainerName(project: string, stage: string): string {
  return stage === 'production' ? `${project}-plugin` : `${project}-plugin-${stage}`;
}

function normalizeHealthCheck(value: PodmanRunExecutorSchema['healthCheck']): HealthSettings {
  const defaults = {
    timeoutMs: PODMAN_RUN_DEFAULTS.healthTimeoutSeconds * 1000,
    intervalMs: PODMAN_RUN_DEFAULTS.healthIntervalSeconds * 1000,
  };
  if (value === undefined) return { check: { kind: 'running', graceMs: PODMAN_RUN_DEFAULTS.startGraceMs }, ...defaults };
  if (value === 'image') return { check: { kind: 'image' }, ...defaults };
  const example = 'Use { "http": "http://127.0.0.1:9090/healthz" }, { "tcp": 9090 }, { "grpc": "127.0.0.1:9090" }, { "command": ["/bin/check"] } or "image".';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('healthCheck', value, example);
  const option = value as HealthCheckObjectOption;
  const kinds = (['http', 'tcp', 'grpc', 'command', 'image'] as const).filter((kind) => option[kind] !== undefined && option[kind] !== false);
  if (kinds.length !== 1)
    fail('healthCheck', value, `Give exactly one of http, tcp, grpc, command or image (got ${kinds.length === 0 ? 'none' : kinds.join(', ')}). ${example}`);
  const known = new Set(['http', 'tcp', 'grpc', 'service', 'command', 'image', 'timeout', 'interval']);
  const unknown = Object.keys(option).filter((key) => !known.has(key));
  if (unknown.length > 0) fail('healthCheck', value, `Unknown key(s) ${unknown.join(', ')}. ${example}`);
  const timing = {
    timeoutMs: positiveSeconds('healthCheck.timeout', option.timeout, PODMAN_RUN_DEFAULTS.healthTimeoutSeconds) * 1000,
    intervalMs: positiveSeconds('healthCheck.interval', option.interval, PODMAN_RUN_DEFAULTS.healthIntervalSeconds) * 1000,
  };
  let check: HealthCheck;
  switch (kinds[0]) {
    case 'http': {
      let url: URL | undefined;
      try {
        url = typeof option.http === 'string' ? new URL(option.http) : undefined;
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
        fail('healthCheck.http', option.http, 'Expected an http(s) URL, e.g. "http://127.0.0.1:9090/healthz".');
      check = { kind: 'http', url: url.href };
      break;
    }
    case 'tcp': {
      const text = String(option.tcp);
      const match = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(text);
      const port = match ? Number(match[3]) : NaN;
      if (!match || (typeof option.tcp !== 'number' && typeof option.tcp !== 'string') || port < 1 || port > 65535) {
        fail('healthCheck.tcp', option.tcp, 'Expected a port (9090, meaning 127.0.0.1:9090) or "host:port".');
      }
      check = { kind: 'tcp', host: match[1] ?? match[2] ?? '127.0.0.1', port };
      break;
    }
    case 'grpc': {
      if (typeof option.grpc !== 'string' || !/^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):\d{1,5}$/.test(option.grpc)) {
        fail('healthCheck.grpc', option.grpc, 'Expected "host:port" of a grpc.health.v1.Health service, e.g. "127.0.0.1:9090".');
      }
      if (option.service !== undefined && typeof option.service !== 'string')
        fail('healthCheck.service', option.service, 'Expected a service name string ("" checks the whole server).');
      check = { kind: 'grpc', address: option.grpc, service: option.service ?? '' };
      break;
    }
    case 'command': {
      const command = stringArray('healthCheck.command', option.command, '["/bin/healthcheck", "--quiet"]');
      if (command.length === 0) fail('healthCheck.command', option.command, 'Give the command and its arguments, e.g. ["/bin/healthcheck"].');
      check = { kind: 'command', command };
      break;
    }
    default:
      if (option.image !== true) fail('healthCheck.image', option.image, 'Use true (or healthCheck: "image") to run the image\'s HEALTHCHECK.');
      check = { kind: 'image' };
  }
  if (option.service !== undefined && check.kind !== 'grpc') fail('healthCheck.service', option.service, 'Only a gRPC health check takes a service name.');
  return { check, ...timing };
}

/**
 * Applies defaults and validates `podman-run` options once. Throws {@link PodmanRunOptionsError} naming the option,
 * the value and the fix. Error messages never contain env values.
 */
export function normalizePodmanRunOptions(given: PodmanRunExecutorSchema, ctx: PodmanRunContext): NormalizedPodmanRunOptions {
  const options: PodmanRunExecutorSchema = { ...given, ...definedOnly(ctx.overrides) };
  const project = ctx.projectName;
  const stage = options.stage ?? PODMAN_RUN_DEFAULTS.stage;
  if (!isStageName(stage)) fail('stage', stage, `Expected ${STAGE_NAME_EXPECTED}.`);

  const podman = options.podman ?? PODMAN_RUN_DEFAULTS.podman;
  if (typeof podman !== 'string' || podman === '') fail('podman', podman, 'Expected the podman binary name or path.');
  if (options.connection !== undefined && (typeof options.connection !== 'string' || options.connection === '')) {
    fail('connection', options.connection, 'Expected a connection name from "podman system connection list".');
  }
  const connection: PodmanConnection = { podman, remote: options.remote === true || options.connection !== undefined, connection: options.connection };

  if (options.image !== undefined && (typeof options.image !== 'string' || options.image.trim() === ''))
    fail('image', options.image, 'Expected an image id or a local image reference.');
  const name = options.name ?? defaultContainerName(project, stage);
  if (typeof name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
    fail('name', name, 'Expected a container name of letters, digits, "_", "." and "-".');

  if (options.ports !== undefined && !Array.isArray(options.ports)) fail('ports', options.ports, 'Expected an array, e.g. ["9090"].');
  const ports = (options.ports ?? []).map((port) => {
    if (typeof port !== 'string' && typeof port !== 'number') fail('ports', port, 'Expected "9090", "8080:9090" or "0.0.0.0:9090:9090".');
    try {
      return normalizePort(port);
    } catch (error) {
      if (error instanceof PortSpecError) fail('ports', port, `${error.message}.`);
      throw error;
    }
  });

  const env: Record<string, string> = {};
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null || Array.isArray(options.env))) {
    // Only the type is shown: the value may hold secrets.
    throw new PodmanRunOptionsError(
      `Invalid podman-run option "env": expected an object of NAME: value pairs, got ${Array.isArray(options.env) ? 'an array' : typeof options.env}.`,
    );
  }
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new PodmanRunOptionsError(
        `Invalid podman-run option "env": variable name ${JSON.stringify(key)} is not a valid name. Use letters, digits and "_", not starting with a digit.`,
      );
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new PodmanRunOptionsError(
        `Invalid podman-run option "env": the value of ${key} must be a string, number or boolean (got ${value === null ? 'null' : typeof value}).`,
      );
    }
    env[key] = String(value);
  }

  const envFileOption = options.envFile;
  const envFileList = typeof envFileOption === 'string' ? [envFileOption] : stringArray('envFile', envFileOption, '[".env.local"]');
  const envFiles = envFileList.map((file) => {
    const path = resolve(ctx.workspaceRoot, file);
    if (!existsSync(path)) fail('envFile', file, `No such file at ${path}. Paths are relative to the workspace root.`);
    return path;
  });

  const volumes = stringArray('volumes', options.volumes, '["./data:/data", "cache:/var/cache"]').map((volume) => {
    const [source = '', ...rest] = volume.split(':');
    if (rest.length === 0 || source === '') fail('volumes', volume, 'Expected "SOURCE:/container/path[:options]".');
    // Relative host paths are workspace-relative; a bare word is a named volume and stays as is.
    const hostPath = source.startsWith('.') || (source.includes('/') && !isAbsolute(source));
    return hostPath ? [resolve(ctx.workspaceRoot, source), ...rest].join(':') : volume;
  });

  if (options.network !== undefined && (typeof options.network !== 'string' || options.network === ''))
    fail('network', options.network, 'Expected a network name, or "host", "none", "bridge".');

  const labels: Record<string, string> = {};
  if (options.labels !== undefined && (typeof options.labels !== 'object' || options.labels === null || Array.isArray(options.labels))) {
    fail('labels', options.labels, 'Expected an object of "key": "value" pairs.');
  }
  for (const [key, value] of Object.entries(options.labels ?? {})) {
    if (key.startsWith(RESERVED_LABEL_PREFIX))
      fail('labels', key, `The "${RESERVED_LABEL_PREFIX}" prefix is reserved for the labels podman-run sets itself; choose another key.`);
    if (typeof value !== 'string') fail('labels', { [key]: value }, 'Label values must be strings.');
    labels[key] = value;
  }

  const extraArgs = stringArray('extraArgs', options.extraArgs, '["--init", "--memory", "256m"]');
  if (options.command !== undefined && typeof options.command === 'string') {
    fail('command', options.command, 'Expected an array of strings (the command is not run through a shell), e.g. ["/plugin", "--port", "9090"].');
  }
  const command = stringArray('command', options.command, '["/plugin", "--port", "9090"]');
  const stopTimeoutSeconds = positiveSeconds('stopTimeout', options.stopTimeout, PODMAN_RUN_DEFAULTS.stopTimeout, true);
  if (!Number.isInteger(stopTimeoutSeconds)) fail('stopTimeout', options.stopTimeout, 'Expected a whole number of seconds.');
  if (options.rollback !== undefined && typeof options.rollback !== 'boolean') fail('rollback', options.rollback, 'Expected true or false.');
  if (options.pod !== undefined && typeof options.pod !== 'boolean') fail('pod', options.pod, 'Expected true or false.');
  const podConflict = podConflictOf(options.network, extraArgs);
  if (options.pod === true && podConflict) fail('pod', true, `${podConflict} Set "pod" to false (or leave it out) to run the container with its own network.`);
  const pod = options.pod !== false && !podConflict ? `${name}-pod` : undefined;

  const container: ContainerRunSpec = Object.freeze({
    name,
    project,
    stage,
    ports: Object.freeze(ports),
    env: Object.freeze(env),
    envFiles: Object.freeze(envFiles),
    volumes: Object.freeze(volumes),
    network: options.network,
    pod,
    labels: Object.freeze(labels),
    extraArgs: Object.freeze(extraArgs),
    command: Object.freeze(command),
    stopTimeoutSeconds,
  });
  return Object.freeze({
    project,
    stage,
    workspaceRoot: ctx.workspaceRoot,
    connection: Object.freeze(connection),
    image: options.image?.trim(),
    container,
    health: Object.freeze(normalizeHealthCheck(options.healthCheck)),
    rollback: options.rollback ?? PODMAN_RUN_DEFAULTS.rollback,
  });
}
