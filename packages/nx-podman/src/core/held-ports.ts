import type { HealthCheck, HealthSettings } from './health-check';
import type { Backends } from './request-hold';
import type { ContainerRunSpec } from './run-args';

/** One published port the watcher listens on while it holds requests: where clients connect, and the port it leads to. */
export interface GateListener {
  /** Host address as configured (`127.0.0.1`, `0.0.0.0`, `[::1]` without brackets: `::1`). */
  readonly host: string;
  readonly port: number;
  readonly containerPort: number;
}

/** A project's published ports as gate listeners, or why its requests cannot be held. */
export type GatePlan = { ok: true; listeners: readonly GateListener[] } | { ok: false; reason: string };

/**
 * Which of a container's published ports the watcher can listen on in its place: TCP ports with a fixed host port
 * (no range, no `/udp`, not chosen by podman). A project with no ports, or with any port the watcher cannot take, is
 * not held (all its ports or none: a blue/green replace needs every port free of podman).
 */
export function planGate(spec: Pick<ContainerRunSpec, 'ports' | 'network' | 'extraArgs'>): GatePlan {
  if (spec.ports.length === 0) return { ok: false, reason: 'it publishes no port' };
  const listeners: GateListener[] = [];
  for (const port of spec.ports) {
    const match = /^(\[[^\]]+\]|[^:]+):(\d+):(\d+)(\/tcp)?$/.exec(port);
    if (!match) return { ok: false, reason: `its port "${port}" is not one fixed TCP port (a range, UDP or a host port podman chooses)` };
    const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
    listeners.push({ host, port: Number(match[2]), containerPort: Number(match[3]) });
  }
  const containerPorts = new Set(listeners.map((listener) => listener.containerPort));
  if (containerPorts.size !== listeners.length) return { ok: false, reason: 'two of its published ports lead to the same container port' };
  return { ok: true, listeners };
}

/**
 * The spec of a container behind the gate: it publishes each container port on 127.0.0.1 at its backend port (only
 * the watcher connects there), under `name`, in a pod of its own named after its first backend port (two containers of
 * one project run side by side during a blue/green replace, each in its own pod).
 */
export function backendSpec(spec: ContainerRunSpec, name: string, backends: Backends): ContainerRunSpec {
  const ports = [...backends].map(([containerPort, hostPort]) => `127.0.0.1:${hostPort}:${containerPort}`);
  const first = [...backends.values()][0];
  return { ...spec, name, ports, pod: spec.pod === undefined ? undefined : `${spec.name}-pod-${first}` };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '0.0.0.0', '::1', '::']);

function backendFor(host: string, port: number, listeners: readonly GateListener[], backends: Backends): number | undefined {
  const bare = host.replace(/^\[|\]$/g, '');
  const listener = listeners.find((candidate) => candidate.port === port && (candidate.host === bare || LOOPBACK.has(bare)));
  return listener === undefined ? undefined : backends.get(listener.containerPort);
}

/**
 * The health check of a container behind the gate: a check aimed at one of the published ports goes to that
 * container's backend port instead (through the gate it would wait behind the very hold it is meant to end).
 */
export function backendHealth(health: HealthSettings, listeners: readonly GateListener[], backends: Backends): HealthSettings {
  const check = health.check;
  let next: HealthCheck = check;
  if (check.kind === 'tcp') {
    const port = backendFor(check.host, check.port, listeners, backends);
    if (port !== undefined) next = { ...check, host: '127.0.0.1', port };
  } else if (check.kind === 'http') {
    try {
      const url = new URL(check.url);
      const port = backendFor(url.hostname, Number(url.port || (url.protocol === 'https:' ? 443 : 80)), listeners, backends);
      if (port !== undefined) {
        url.hostname = '127.0.0.1';
        url.port = String(port);
        next = { ...check, url: url.toString() };
      }
    } catch {
      // normalize-options checked the URL
    }
  } else if (check.kind === 'grpc') {
    const match = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(check.address);
    const port = match ? backendFor(match[1] || '127.0.0.1', Number(match[2]), listeners, backends) : undefined;
    if (port !== undefined) next = { ...check, address: `127.0.0.1:${port}` };
  }
  return next === check ? health : { ...health, check: next };
}
