/**
 * Delve in a debug container, seen from the watcher: which containers run a headless multi-client Delve server (so a
 * live update can ask it to relaunch its target instead of restarting the container), how many debuggers are attached,
 * and the restart itself over Delve's JSON-RPC API (`RPCServer.*`, API version 2). Nothing here does I/O: the
 * connection is the `DelveRpc` port (`core/ports.ts`, implemented by `adapters/delve-rpc.ts`).
 */
import { posix } from 'node:path';
import type { DelveRpc, Logger, SleepClock } from './ports';
import type { ContainerState } from './run-args';

/** A headless Delve server found in a container's command line. */
export interface DelveServer {
  /** The port Delve listens on inside the container. */
  containerPort: number;
  /** The program Delve runs (`dlv exec <program>`): the file a live update replaces. */
  program: string;
}

/** Why a container's command is not a Delve server a live update can restart. */
export type DelveServerMismatch = { reason: string };

/** dlv's subcommands. */
const DLV_COMMANDS = new Set(['attach', 'connect', 'core', 'dap', 'debug', 'exec', 'replay', 'run', 'test', 'trace', 'version']);

/** The value of `--name=value` / `--name value` (and a short alias) in `args`, or undefined. */
function flagValue(args: readonly string[], long: string, short?: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    for (const name of short ? [long, short] : [long]) {
      if (arg === name) return args[i + 1];
      if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
    }
  }
  return undefined;
}

/** `--flag` or `--flag=true` (Go's boolean flags). */
function flagSet(args: readonly string[], name: string): boolean {
  return args.some((arg) => arg === name || arg === `${name}=true`);
}

/**
 * The Delve server a container runs, from its command line (`Path` and `Args` of `podman inspect`):
 * `dlv exec <program> --headless --listen=[host]:<port> --accept-multiclient [...]`. Anything else is a mismatch that says
 * why: not Delve, not `exec` (`dlv debug` relaunches the binary it built, not the one a live update replaces), not
 * headless, no fixed port, or no `--accept-multiclient` (the server would end with the watcher's connection).
 */
export function delveServerOf(command: readonly string[]): DelveServer | DelveServerMismatch {
  const at = command.findIndex((part) => posix.basename(part) === 'dlv');
  if (at < 0) return { reason: 'the container does not run dlv' };
  const args = command.slice(at + 1);
  // The first subcommand, wherever the global flags (some with separate values: `-l :2345`) put it.
  const verb = args.findIndex((arg) => DLV_COMMANDS.has(arg));
  if (args[verb] !== 'exec') return { reason: `dlv runs "${args[verb] ?? ''}", not "exec" (only dlv exec relaunches the file a live update replaces)` };
  const program = args[verb + 1];
  if (!program || program.startsWith('-')) return { reason: 'dlv exec names no program' };
  if (!flagSet(args, '--headless')) return { reason: 'dlv is not --headless' };
  if (!flagSet(args, '--accept-multiclient')) return { reason: 'dlv is not started with --accept-multiclient' };
  const listen = flagValue(args, '--listen', '-l');
  const port = listen === undefined ? undefined : /:(\d{1,5})$/.exec(listen)?.[1];
  if (port === undefined || Number(port) === 0) return { reason: 'dlv has no fixed --listen port' };
  return { containerPort: Number(port), program };
}

/** True when {@link delveServerOf} found a server. */
export function isDelveServer(found: DelveServer | DelveServerMismatch): found is DelveServer {
  return 'containerPort' in found;
}

/** The host port podman publishes `containerPort` (tcp) on, from the container's state, or undefined. */
export function publishedPort(state: Pick<ContainerState, 'ports'>, containerPort: number): number | undefined {
  const binding = state.ports?.[`${containerPort}/tcp`]?.find((entry) => Number(entry.hostPort) > 0);
  return binding ? Number(binding.hostPort) : undefined;
}

/**
 * How many TCP connections to `port` are established, from the kernel's socket tables of the container's network
 * namespace (`/proc/<pid>/net/tcp` and `tcp6`): the debuggers attached to Delve's port.
 */
export function establishedConnections(tables: readonly string[], port: number): number {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let count = 0;
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      // sl local_address rem_address st ...: state 01 is ESTABLISHED.
      const [, localAddress, , state] = line.trim().split(/\s+/);
      if (state === '01' && localAddress?.toUpperCase().endsWith(local)) count++;
    }
  }
  return count;
}

/** The host port a run spec's `ports` (normalized: `HOST_IP:HOST_PORT:CONTAINER_PORT[/tcp]`) publish `containerPort` on. */
export function configuredHostPort(ports: readonly string[], containerPort: number): number | undefined {
  for (const entry of ports) {
    const match = /:(\d+):(\d+)(\/tcp)?$/.exec(entry);
    if (match && Number(match[2]) === containerPort) return Number(match[1]);
  }
  return undefined;
}

/**
 * The container that ran Delve was replaced (a new image): a debugger attached to it has to attach again, at the
 * address the run target publishes (`spec.ports`; the running container's own when that does not say).
 */
export function announceDebugSessionEnd(
  previous: ContainerState | undefined,
  spec: { project: string; ports: readonly string[] },
  logger: Pick<Logger, 'info'>,
): void {
  if (!previous?.running || !previous.command) return;
  const server = delveServerOf(previous.command);
  if (!isDelveServer(server)) return;
  const port = configuredHostPort(spec.ports, server.containerPort) ?? publishedPort(previous, server.containerPort);
  logger.info('debug session restarted; attach again', { plugin: spec.project, ...(port !== undefined && { debugger: `127.0.0.1:${port}` }) });
}

// ---------------------------------------------------------------------------------------------------------------
// The restart over Delve's API

/** A breakpoint Delve could not set again in the new program, as `RPCServer.Restart` reports it (Go field names). */
export interface DiscardedBreakpoint {
  Breakpoint?: { id?: number; name?: string; file?: string; line?: number; functionName?: string } | null;
  Reason?: string;
}

/** `main.go:42` for each discarded breakpoint (its user-given name when it has one), comma-separated. */
export function describeDiscarded(discarded: readonly DiscardedBreakpoint[]): string {
  return discarded
    .map(({ Breakpoint: breakpoint }) => {
      if (breakpoint?.name) return breakpoint.name;
      if (breakpoint?.file) return `${posix.basename(breakpoint.file)}:${breakpoint.line ?? 0}`;
      return breakpoint?.functionName ?? `#${breakpoint?.id ?? '?'}`;
    })
    .join(',');
}

/** How long one Delve call may take: a halt or a relaunch takes well under a second. */
export const DELVE_CALL_TIMEOUT_MS = 15_000;
/** How often the watcher looks whether an attached debugger continued the relaunched program. */
const CONTINUE_POLL_MS = 100;

export interface DelveRestartRequest {
  plugin: string;
  /**
   * Debuggers attached besides the watcher (undefined: cannot tell). With none, the watcher continues the relaunched
   * program itself; with some, the attached debugger does (its `continue` is then the one that reports the next
   * breakpoint), and the watcher continues it only after `continueWaitMs`.
   */
  attached: number | undefined;
  continueWaitMs: number;
  signal: AbortSignal;
}

export type DelveRestartResult = { status: 'restarted'; discarded: DiscardedBreakpoint[] } | { status: 'failed'; reason: string };

/**
 * Makes Delve relaunch its program from the (already replaced) file: halt it when it runs, `Restart` without rebuilding
 * (Delve sets its breakpoints again in the new program and reports those it could not), then let it run. Delve, the
 * server and every attached debugger stay: only the program changes. Logs the breakpoints that were not restored.
 */
export async function restartUnderDelve(
  rpc: DelveRpc,
  request: DelveRestartRequest,
  ports: { clock: SleepClock; logger: Logger },
): Promise<DelveRestartResult> {
  const { plugin } = request;
  const { clock, logger } = ports;
  let step = 'State';
  try {
    // A program that exited (a crash, a panic) makes State fail with "has exited": Delve relaunches it all the same.
    const state = await rpc
      .call<{ State?: { Running?: boolean } }>('RPCServer.State', { NonBlocking: true }, DELVE_CALL_TIMEOUT_MS)
      .catch((error: Error) => (/exited/.test(error.message) ? { State: { Running: false } } : Promise.reject(error)));
    if (state.State?.Running) {
      step = 'halt';
      await rpc.call('RPCServer.Command', { name: 'halt' }, DELVE_CALL_TIMEOUT_MS);
    }
    step = 'ListBreakpoints';
    const before = await userBreakpoints(rpc);
    step = 'Restart';
    const restarted = await rpc.call<{ DiscardedBreakpoints?: DiscardedBreakpoint[] | null }>('RPCServer.Restart', { Rebuild: false }, DELVE_CALL_TIMEOUT_MS);
    step = 'ListBreakpoints';
    // Delve reports a breakpoint set by file and line as discarded; one set through a location expression (what the
    // terminal client and IDEs send) stays pending instead, without an address in the new program, and is not listed.
    const placed = new Set((await userBreakpoints(rpc)).filter((breakpoint) => (breakpoint.addrs?.length ?? 0) > 0).map((breakpoint) => breakpoint.id));
    const discarded = [...(restarted.DiscardedBreakpoints ?? [])];
    for (const breakpoint of before) {
      if (!placed.has(breakpoint.id) && !discarded.some((entry) => entry.Breakpoint?.id === breakpoint.id)) {
        discarded.push({ Breakpoint: breakpoint, Reason: 'no statement at its location in the new code' });
      }
    }
    if (discarded.length > 0) {
      logger.warn('breakpoints not restored', {
        plugin,
        breakpoints: describeDiscarded(discarded),
        reason: discarded[0]?.Reason ?? 'not found in the new code',
      });
    }
    step = 'continue';
    const attached = request.attached ?? 0;
    if (attached > 0) {
      // The debugger's own `continue` is the call Delve answers at the next breakpoint: the watcher's would swallow it.
      logger.info('plugin relaunched under Delve; continue it in your debugger', { plugin, debuggers: attached });
      if (await continuedByDebugger(rpc, request, clock)) return { status: 'restarted', discarded };
      if (!request.signal.aborted) {
        logger.warn('no attached debugger continued the plugin; continuing it', { plugin, waited: `${Math.round(request.continueWaitMs / 1000)}s` });
      }
    }
    rpc.send('RPCServer.Command', { name: 'continue' });
    return { status: 'restarted', discarded };
  } catch (error) {
    return { status: 'failed', reason: `Delve's ${step} failed: ${(error as Error).message}` };
  }
}

type ListedBreakpoint = NonNullable<DiscardedBreakpoint['Breakpoint']> & { addrs?: number[] | null };

/** The breakpoints the user set (Delve's own, like the one on unrecovered panics, have negative ids). */
async function userBreakpoints(rpc: DelveRpc): Promise<ListedBreakpoint[]> {
  const listed = await rpc
    .call<{ Breakpoints?: ListedBreakpoint[] | null }>('RPCServer.ListBreakpoints', { All: false }, DELVE_CALL_TIMEOUT_MS)
    .catch((error: Error) => (/exited/.test(error.message) ? { Breakpoints: [] } : Promise.reject(error)));
  return (listed.Breakpoints ?? []).filter((breakpoint) => (breakpoint.id ?? 0) > 0);
}

/** Waits (up to `continueWaitMs`) for an attached debugger to continue the relaunched program. */
async function continuedByDebugger(rpc: DelveRpc, request: DelveRestartRequest, clock: SleepClock): Promise<boolean> {
  const deadline = clock.now() + request.continueWaitMs;
  while (!request.signal.aborted) {
    const state = await rpc.call<{ State?: { Running?: boolean } }>('RPCServer.State', { NonBlocking: true }, DELVE_CALL_TIMEOUT_MS);
    if (state.State?.Running) return true;
    if (clock.now() >= deadline) return false;
    await clock.sleep(CONTINUE_POLL_MS, request.signal);
  }
  return false;
}
