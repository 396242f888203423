import type { ContainerRunSpec } from '../core/run-args';

/** The run spec podman-run derives for `postgres` with default options; tests override what they exercise. */
export function containerRunSpec(overrides: Partial<ContainerRunSpec> = {}): ContainerRunSpec {
  return {
    name: 'postgres-plugin',
    project: 'postgres',
    stage: 'production',
    ports: [],
    env: {},
    envFiles: [],
    volumes: [],
    network: undefined,
    pod: undefined,
    labels: {},
    extraArgs: [],
    command: [],
    stopTimeoutSeconds: 10,
    ...overrides,
  };
}
