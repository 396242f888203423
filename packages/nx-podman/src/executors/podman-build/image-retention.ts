import { INPUT_HASH_LABEL, type BuildHistoryEntry, type BuildRecord } from '../../core/build-record';
import { fullImageId, shortImageId } from '../../core/image-id';
import type { BuildRecordStore, Logger, PodmanEngine } from '../../core/ports';

/** What {@link pruneSupersededImages} did. */
export interface PruneResult {
  /** Images removed (the superseded builds, with the stage images that carry their input hash). */
  removed: string[];
  /** Superseded images left alone: used by a container (tried again next time) or tagged by someone else (forgotten). */
  skipped: { imageId: string; reason: 'in use by a container' | 'tagged' }[];
}

/**
 * Image retention: keeps the newest `keep` images of a project's stage (the build record's history) and removes the
 * older ones this plugin built, with the intermediate-stage images labelled with their input hash. Never removes an
 * image a container uses (it stays in the history and is tried again after the next build) or one that carries a
 * name (the build's own tags have moved on to the newest image, so a name there is somebody else's: it is left alone
 * and forgotten). Nothing is forced: podman refuses what is still needed and that is fine. Once `cancelled()` (the
 * watcher is stopping: its exit needs every second of Nx's grace period) no further podman call starts; what was not
 * removed stays in the history for next time.
 */
export async function pruneSupersededImages(
  project: string,
  stage: string,
  keep: number,
  deps: { engine: PodmanEngine; records: BuildRecordStore; logger: Logger; cancelled?(): boolean },
): Promise<PruneResult> {
  const result: PruneResult = { removed: [], skipped: [] };
  const cancelled = deps.cancelled ?? (() => false);
  const record = await deps.records.read(project, stage);
  const history = record?.history ?? [];
  if (!record || history.length <= keep || cancelled()) return result;
  const superseded = history.slice(keep);
  const used = await deps.engine.containerImageIds();
  const stillKept: BuildHistoryEntry[] = [];
  for (const [index, entry] of superseded.entries()) {
    if (cancelled()) {
      stillKept.push(...superseded.slice(index));
      break;
    }
    const id = fullImageId(entry.imageId);
    if (used === undefined || used.has(id)) {
      result.skipped.push({ imageId: id, reason: 'in use by a container' });
      stillKept.push(entry);
      continue;
    }
    const names = await deps.engine.imageNames(id);
    if (names === undefined) continue; // already gone
    if (names.length > 0) {
      result.skipped.push({ imageId: id, reason: 'tagged' });
      continue;
    }
    // The stage images of that build carry its input hash too (podman labels every stage): they go with it.
    const staged = (await deps.engine.listImages(`label=${INPUT_HASH_LABEL}=${entry.inputHash}`, { all: true })) ?? [];
    if (cancelled()) {
      stillKept.push(...superseded.slice(index));
      break;
    }
    const candidates = [id, ...staged.filter((image) => image.names.length === 0 && !used.has(image.id)).map((image) => image.id)];
    const removal = await deps.engine.exec(['rmi', ...new Set(candidates)]);
    if (removal.exitCode !== 0) deps.logger.debug('podman rmi left some images', { plugin: project, stage, reason: removal.stderr.trim().split('\n').at(-1) });
    if (await deps.engine.imageExists(id)) {
      stillKept.push(entry);
      continue;
    }
    result.removed.push(id);
  }
  await deps.records.write({ ...record, history: [...history.slice(0, keep), ...stillKept] } satisfies BuildRecord);
  if (result.removed.length) {
    deps.logger.debug('removed superseded images', { plugin: project, stage, images: result.removed.map(shortImageId).join(','), kept: keep });
  }
  return result;
}
