import type { BuildRecord } from '../../core/build-record';
import type { BuildRecordStore, Clock, ContextHasher, FileReader, GitReader, Logger, PodmanEngine } from '../../core/ports';

/**
 * How one `runPodmanBuild` ended.
 * - `built`: podman built the image; `record` was written.
 * - `up-to-date`: an image labelled with the same input hash exists; no `podman build` ran, the tags were pointed at
 *   it and `record` was refreshed.
 * - `failed`: `exitCode` is podman's, or 1 when the build could not start (no Containerfile, unknown stage, podman
 *   missing); `message` is the full user-facing message, `outputTail` the last lines of podman's output.
 * - `aborted`: `signal` aborted; podman was killed.
 */
export type PodmanBuildOutcome =
  | { status: 'built'; record: BuildRecord; durationMs: number }
  | { status: 'up-to-date'; record: BuildRecord }
  | { status: 'failed'; exitCode: number; message: string; outputTail: string }
  | { status: 'aborted' };

/** What {@link runPodmanBuild} works with; everything that touches the world is passed in. */
export interface PodmanBuildDeps {
  engine: PodmanEngine;
  logger: Logger;
  records: BuildRecordStore;
  /** Aborting kills a running `podman build` (SIGTERM, then SIGKILL). */
  signal?: AbortSignal;
  /** @default createContextHasher() */
  hasher?: ContextHasher;
  /** @default createGitReader() */
  git?: GitReader;
  /** @default createFileReader() */
  files?: FileReader;
  /** Durations and the record's `builtAt`. @default createSystemClock() */
  clock?: Pick<Clock, 'now' | 'date'>;
}
