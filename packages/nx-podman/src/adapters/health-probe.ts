import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { decodeHealthCheckResponse, encodeHealthCheckRequest, GRPC_HEALTH_CHECK_PATH } from '../core/grpc-health';
import { lastLines } from '../core/command-line';
import type { ProbeResult } from '../core/health-check';
import type { HealthProbe, PodmanEngine, ProbeOptions } from '../core/ports';

/** After a TCP connect succeeds, how long the connection must stay open to count (see `probeTcp`). */
const TCP_SETTLE_MS = 100;

function describeError(error: unknown): string {
  const value = error as { code?: string; message?: string };
  return value?.message || value?.code || String(error);
}

/**
 * Runs `attempt` with a timer and the caller's signal combined into one AbortSignal that the attempt must honour;
 * the timer is cleared however the attempt ends.
 */
async function withDeadline(options: ProbeOptions, what: string, attempt: (signal: AbortSignal) => Promise<ProbeResult>): Promise<ProbeResult> {
  if (options.signal?.aborted) return { ok: false, reason: 'aborted' };
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  try {
    const result = await attempt(controller.signal);
    if (!result.ok && timedOut) return { ok: false, reason: `${what} did not answer within ${options.timeoutMs} ms` };
    if (!result.ok && options.signal?.aborted) return { ok: false, reason: 'aborted' };
    return result;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function probeHttp(url: string, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const client = url.startsWith('https:') ? https : http;
    // No keep-alive agent: each attempt opens and closes its own socket, so none is left behind.
    const request = client.get(url, { agent: false, headers: { connection: 'close' }, signal }, (response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      response.on('error', () => undefined);
      response.on('close', () => request.destroy());
      resolve(status >= 200 && status < 400 ? { ok: true } : { ok: false, reason: `GET ${url} answered HTTP ${status}` });
    });
    request.on('error', (error) => resolve({ ok: false, reason: `GET ${url} failed: ${describeError(error)}` }));
  });
}

/**
 * A TCP connect that must stay open for a moment: rootless podman's port forwarder accepts connections on the host
 * port before anything listens in the container and then closes them, so a bare connect would report ready too early.
 */
function probeTcp(host: string, port: number, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const socket = net.connect({ host, port });
    let settle: NodeJS.Timeout | undefined;
    const finish = (result: ProbeResult) => {
      clearTimeout(settle);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ ok: false, reason: `TCP ${where}: aborted` });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) => finish({ ok: false, reason: `TCP ${where}: ${describeError(error)}` }));
    socket.on('close', () => finish({ ok: false, reason: `TCP ${where}: connection closed right after it was accepted` }));
    socket.on('connect', () => {
      settle = setTimeout(() => finish({ ok: true }), TCP_SETTLE_MS);
    });
  });
}

function probeGrpc(address: string, service: string, signal: AbortSignal, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      client.close();
      resolve(result);
    };
    const call = client.makeUnaryRequest(
      GRPC_HEALTH_CHECK_PATH,
      (value: string) => encodeHealthCheckRequest(value),
      (buffer: Buffer) => decodeHealthCheckResponse(buffer),
      service,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (error, status) => {
        if (error) finish({ ok: false, reason: `gRPC health ${address}: ${grpc.status[error.code] ?? error.code} ${error.details}`.trim() });
        else if (status === 'SERVING') finish({ ok: true });
        else finish({ ok: false, reason: `gRPC health ${address}${service ? ` service "${service}"` : ''} is ${status}` });
      },
    );
    const onAbort = () => {
      call.cancel();
      finish({ ok: false, reason: `gRPC health ${address}: aborted` });
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function probeCommand(engine: PodmanEngine, container: string, command: readonly string[], signal: AbortSignal): Promise<ProbeResult> {
  const result = await engine.exec(['exec', container, ...command], { signal });
  if (result.exitCode === 0) return { ok: true };
  const output = lastLines(result.stderr || result.stdout, 5);
  // 126/127: the command cannot be run in this image at all; retrying will not help.
  const fatal = result.exitCode === 126 || result.exitCode === 127;
  return { ok: false, fatal, reason: `health command ${JSON.stringify(command)} exited ${result.exitCode}${output ? `: ${output}` : ''}` };
}

async function probeImage(engine: PodmanEngine, container: string, signal: AbortSignal): Promise<ProbeResult> {
  const result = await engine.exec(['healthcheck', 'run', container], { signal });
  if (result.exitCode === 0) return { ok: true };
  const output = lastLines(result.stderr || result.stdout, 5);
  if (/no (defined )?healthcheck/i.test(output)) {
    return {
      ok: false,
      fatal: true,
      reason: `the image has no HEALTHCHECK (${output}). Add one to the Containerfile and build with "--format docker" (the OCI format drops HEALTHCHECK), or choose another healthCheck`,
    };
  }
  return { ok: false, reason: `the image's HEALTHCHECK reported ${output || `exit ${result.exitCode}`}` };
}

/** Creates the real health probe: HTTP and TCP from Node, gRPC with @grpc/grpc-js, commands and HEALTHCHECK through podman. */
export function createHealthProbe(deps: { engine: PodmanEngine }): HealthProbe {
  return {
    probe(check, options) {
      switch (check.kind) {
        case 'http':
          return withDeadline(options, `GET ${check.url}`, (signal) => probeHttp(check.url, signal));
        case 'tcp':
          return withDeadline(options, `TCP ${check.host}:${check.port}`, (signal) => probeTcp(check.host, check.port, signal));
        case 'grpc':
          return withDeadline(options, `gRPC health ${check.address}`, (signal) => probeGrpc(check.address, check.service, signal, options.timeoutMs));
        case 'command':
          return withDeadline(options, `health command ${JSON.stringify(check.command)}`, (signal) =>
            probeCommand(deps.engine, options.container, check.command, signal),
          );
        case 'image':
          return withDeadline(options, "the image's HEALTHCHECK", (signal) => probeImage(deps.engine, options.container, signal));
      }
    },
  };
}
