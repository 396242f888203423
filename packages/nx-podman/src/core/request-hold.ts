import { formatSeconds } from './log-format';
import type { Clock, Logger, TimerHandle } from './ports';

/** A client connection on one of a plugin's published ports: the adapter's socket, seen by the gate. */
export interface GateConnection {
  /** The container port the client's published port leads to. */
  readonly containerPort: number;
  /** Connects the client to 127.0.0.1:`backendPort` and pipes both ways (what the client sent while held goes first). */
  forward(backendPort: number): void;
  /** Closes the client's connection without an answer. */
  close(): void;
}

/** How long and how many connections a gate holds. */
export interface HoldLimits {
  /** A held connection is closed after this long. */
  readonly timeoutMs: number;
  /** Connections past this many held at once are closed on arrival. */
  readonly maxHeld: number;
}

/** What the status page shows of a gate. */
export interface HoldSnapshot {
  /** New connections wait (a reload is under way) instead of going through. */
  readonly holding: boolean;
  /** Connections waiting now. */
  readonly held: number;
  /** Longest wait of the current hold (or the last one, once it ended), in ms. */
  readonly longestWaitMs: number;
  /** Connections closed because they waited too long or too many waited, since the watcher started. */
  readonly dropped: number;
}

/** Container port → the 127.0.0.1 host port where the serving container publishes it. */
export type Backends = ReadonlyMap<number, number>;

/**
 * One plugin's gate between its published ports and its container: connections go straight through while it serves,
 * wait while it holds (a restart or the first start is under way), and go to whichever container `serve` names next.
 */
export interface RequestGate {
  /** A new client connection; returns the function the adapter calls when the client goes away first. */
  connection(connection: GateConnection): () => void;
  /** From now on new connections wait. Logs `holding requests` when it starts a hold. */
  hold(): void;
  /** New and waiting connections go to `backends`. Logs `serving` with what the hold cost when it ends one. */
  serve(backends: Backends): void;
  /** Where connections go now; undefined before the first `serve`. */
  backends(): Backends | undefined;
  /** Closes every held connection and every later one; what the watcher does on exit. */
  stop(): void;
  snapshot(): HoldSnapshot;
}

export interface RequestGateDeps {
  project: string;
  clock: Pick<Clock, 'now' | 'setTimer' | 'clearTimer'>;
  logger: Logger;
  limits: HoldLimits;
  /** Called after every change a status page would show. */
  onChange?: (snapshot: HoldSnapshot) => void;
}

interface Held {
  readonly connection: GateConnection;
  readonly since: number;
  timer: TimerHandle | undefined;
}

type Mode = { kind: 'holding'; since: number; announced: boolean } | { kind: 'serving'; backends: Backends } | { kind: 'stopped' };

/**
 * The hold / switch / drain state machine of {@link RequestGate}. It starts holding (nothing serves yet), without a
 * log line: the first start is not a reload. Bounds: a connection waits at most `limits.timeoutMs`, and at most
 * `limits.maxHeld` wait at once; a connection past either is closed, and the first one of each hold is logged
 * (`WARN held connection closed`) with the option to change.
 */
export function createRequestGate(deps: RequestGateDeps): RequestGate {
  const { project, clock, logger, limits } = deps;
  let mode: Mode = { kind: 'holding', since: clock.now(), announced: false };
  const held: Held[] = [];
  let longestWaitMs = 0;
  let dropped = 0;
  let droppedThisHold = 0;

  const snapshot = (): HoldSnapshot => {
    const now = clock.now();
    const waiting = held.reduce((longest, entry) => Math.max(longest, now - entry.since), 0);
    return { holding: mode.kind === 'holding', held: held.length, longestWaitMs: Math.max(longestWaitMs, waiting), dropped };
  };
  const changed = () => deps.onChange?.(snapshot());
  const drop = (connection: GateConnection, reason: string, option: string) => {
    dropped += 1;
    droppedThisHold += 1;
    if (droppedThisHold === 1) logger.warn('held connection closed', { plugin: project, reason, fix: `raise the watch-reload option "${option}"` });
    connection.close();
  };
  const remove = (entry: Held) => {
    const index = held.indexOf(entry);
    if (index < 0) return false;
    held.splice(index, 1);
    if (entry.timer !== undefined) clock.clearTimer(entry.timer);
    return true;
  };
  const forward = (connection: GateConnection, backends: Backends) => {
    const backend = backends.get(connection.containerPort);
    if (backend === undefined) connection.close();
    else connection.forward(backend);
  };

  return {
    connection(connection) {
      if (mode.kind === 'serving') {
        forward(connection, mode.backends);
        return () => undefined;
      }
      if (mode.kind === 'stopped' || held.length >= limits.maxHeld) {
        if (mode.kind === 'stopped') connection.close();
        else drop(connection, `${limits.maxHeld} connections are held already`, 'maxHeldConnections');
        changed();
        return () => undefined;
      }
      const entry: Held = { connection, since: clock.now(), timer: undefined };
      entry.timer = clock.setTimer(() => {
        entry.timer = undefined;
        if (!remove(entry)) return;
        longestWaitMs = Math.max(longestWaitMs, clock.now() - entry.since);
        drop(connection, `waited ${formatSeconds(limits.timeoutMs)} and the plugin is still not serving`, 'holdTimeout');
        changed();
      }, limits.timeoutMs);
      held.push(entry);
      changed();
      return () => {
        if (remove(entry)) changed();
      };
    },

    hold() {
      if (mode.kind !== 'serving') return;
      mode = { kind: 'holding', since: clock.now(), announced: true };
      longestWaitMs = 0;
      droppedThisHold = 0;
      logger.info('holding requests', { plugin: project });
      changed();
    },

    serve(backends) {
      if (mode.kind === 'stopped') return;
      const now = clock.now();
      const hold = mode.kind === 'holding' ? mode : undefined;
      mode = { kind: 'serving', backends: new Map(backends) };
      const released = held.splice(0, held.length);
      for (const entry of released) {
        if (entry.timer !== undefined) clock.clearTimer(entry.timer);
        longestWaitMs = Math.max(longestWaitMs, now - entry.since);
        forward(entry.connection, backends);
      }
      if (hold?.announced) {
        logger.info('serving', { plugin: project, held: released.length, waited: formatSeconds(now - hold.since), dropped: droppedThisHold || undefined });
      }
      droppedThisHold = 0;
      changed();
    },

    backends: () => (mode.kind === 'serving' ? mode.backends : undefined),

    stop() {
      if (mode.kind === 'stopped') return;
      mode = { kind: 'stopped' };
      for (const entry of held.splice(0, held.length)) {
        if (entry.timer !== undefined) clock.clearTimer(entry.timer);
        entry.connection.close();
      }
      changed();
    },

    snapshot,
  };
}
