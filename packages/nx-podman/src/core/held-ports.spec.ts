import { containerRunSpec } from '../testing/container-run-spec';
import type { HealthSettings } from './health-check';
import { backendHealth, backendSpec, planGate } from './held-ports';

const timing = { timeoutMs: 30_000, intervalMs: 1000 };

describe('planGate', () => {
  it('takes every fixed TCP port, with its host address and container port', () => {
    expect(planGate(containerRunSpec({ ports: ['127.0.0.1:9090:9090', '0.0.0.0:8080:80/tcp', '[::1]:7000:7000'] }))).toEqual({
      ok: true,
      listeners: [
        { host: '127.0.0.1', port: 9090, containerPort: 9090 },
        { host: '0.0.0.0', port: 8080, containerPort: 80 },
        { host: '::1', port: 7000, containerPort: 7000 },
      ],
    });
  });

  it.each([
    [[], 'it publishes no port'],
    [['127.0.0.1:9090:9090', '127.0.0.1:5353:53/udp'], 'its port "127.0.0.1:5353:53/udp" is not one fixed TCP port'],
    [['127.0.0.1::9090'], 'its port "127.0.0.1::9090" is not one fixed TCP port'],
    [['127.0.0.1:9000-9001:9000-9001'], 'not one fixed TCP port'],
    [['127.0.0.1:9090:9090', '0.0.0.0:9091:9090'], 'two of its published ports lead to the same container port'],
  ])('does not hold %j: %s', (ports, reason) => {
    const plan = planGate(containerRunSpec({ ports }));
    expect(plan.ok).toBe(false);
    expect(plan.ok ? '' : plan.reason).toContain(reason);
  });
});

describe('backendSpec', () => {
  it('publishes the container ports on 127.0.0.1 at the backend ports, in a pod named after the first one', () => {
    const spec = containerRunSpec({ ports: ['0.0.0.0:9090:9090'], pod: 'postgres-plugin-pod' });
    expect(backendSpec(spec, 'postgres-plugin-next', new Map([[9090, 41234]]))).toMatchObject({
      name: 'postgres-plugin-next',
      ports: ['127.0.0.1:41234:9090'],
      pod: 'postgres-plugin-pod-41234',
    });
    expect(backendSpec({ ...spec, pod: undefined }, 'x', new Map([[9090, 41234]])).pod).toBeUndefined();
  });
});

describe('backendHealth', () => {
  const listeners = [{ host: '127.0.0.1', port: 9090, containerPort: 9090 }];
  const backends = new Map([[9090, 41234]]);
  const check = (value: HealthSettings['check']): HealthSettings => ({ check: value, ...timing });

  it('aims http, tcp and grpc checks of a published port at the backend port', () => {
    expect(backendHealth(check({ kind: 'http', url: 'http://localhost:9090/healthz?x=1' }), listeners, backends).check).toEqual({
      kind: 'http',
      url: 'http://127.0.0.1:41234/healthz?x=1',
    });
    expect(backendHealth(check({ kind: 'tcp', host: '127.0.0.1', port: 9090 }), listeners, backends).check).toEqual({
      kind: 'tcp',
      host: '127.0.0.1',
      port: 41234,
    });
    expect(backendHealth(check({ kind: 'grpc', address: '127.0.0.1:9090', service: 'x' }), listeners, backends).check).toEqual({
      kind: 'grpc',
      address: '127.0.0.1:41234',
      service: 'x',
    });
  });

  it('leaves checks of other ports and in-container checks alone', () => {
    for (const value of [
      { kind: 'http', url: 'http://127.0.0.1:8081/healthz' },
      { kind: 'tcp', host: '10.0.0.5', port: 9090 },
      { kind: 'command', command: ['/healthcheck'] },
      { kind: 'running', graceMs: 500 },
    ] as const) {
      const settings = check(value);
      expect(backendHealth(settings, listeners, backends)).toBe(settings);
    }
  });
});
