import { createTcpGate, type TcpGate } from '../../adapters/tcp-gate';
import { planGate } from '../../core/held-ports';
import type { PodmanConnection } from '../../core/podman-version';
import type { Clock, Logger } from '../../core/ports';
import { createRequestGate, type HoldSnapshot } from '../../core/request-hold';
import type { ContainerRunSpec } from '../../core/run-args';
import type { NormalizedWatchReloadOptions } from './normalize-options';

/** The watcher's gates, one per project whose requests it holds (`holdRequests`). */
export interface RequestGates {
  /** The project's gate, made on first use; undefined (said once, with why) when its requests are not held. */
  gateFor(project: string, container: ContainerRunSpec, connection: PodmanConnection): TcpGate | undefined;
  /** The project's gate, if it has one already. */
  get(project: string): TcpGate | undefined;
  /** Projects with a gate. */
  projects(): string[];
  /** Where every gate's changes go (the status page). */
  observe(listener: (project: string, snapshot: HoldSnapshot) => void): void;
}

/** Makes the watcher's gates with its options (`holdRequests`, `holdTimeout`, `maxHeldConnections`). */
export function createRequestGates(deps: { options: NormalizedWatchReloadOptions; clock: Clock; logger: Logger }): RequestGates {
  const { options, clock, logger } = deps;
  const gates = new Map<string, TcpGate>();
  const refused = new Set<string>();
  let listener: ((project: string, snapshot: HoldSnapshot) => void) | undefined;
  return {
    gateFor(project, container, connection) {
      if (!options.reload || !options.holdRequests) return undefined;
      const known = gates.get(project);
      if (known) return known;
      const plan = planGate(container);
      const reason = !plan.ok ? plan.reason : connection.remote || connection.connection ? 'podman is remote (its ports are on another host)' : undefined;
      if (reason !== undefined || !plan.ok) {
        if (!refused.has(project)) logger.info('not holding requests', { plugin: project, reason });
        refused.add(project);
        return undefined;
      }
      const gate = createTcpGate(
        createRequestGate({
          project,
          clock,
          logger,
          limits: { timeoutMs: options.holdTimeoutMs, maxHeld: options.maxHeldConnections },
          onChange: (snapshot) => listener?.(project, snapshot),
        }),
        plan.listeners,
      );
      gates.set(project, gate);
      return gate;
    },
    get: (project) => gates.get(project),
    projects: () => [...gates.keys()].sort(),
    observe(next) {
      listener = next;
    },
  };
}
