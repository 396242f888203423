import { sameImage } from './image-id';

/**
 * What `podman-build` records after a successful build, so that `podman-run` and `watch-reload` run exactly the
 * image that was built (by id), never a tag that may have moved. Stored as JSON at
 * `<workspaceRoot>/.nx/podman/builds/<project>/<stage>.json` (see {@link buildRecordPath}).
 */
export interface BuildRecord {
  /** Format version of this file. */
  version: 1;
  project: string;
  stage: string;
  /** Full image id (`sha256:...`) from `podman build --iidfile`, or the manifest list id for multi-platform builds. */
  imageId: string;
  /** Every tag given to the image. */
  tags: string[];
  /** Hash of the build inputs (context, Containerfile, stage, build args, platforms); also the image's `io.prism.nx-podman.input-hash` label. */
  inputHash: string;
  /** Workspace-relative Containerfile and context. */
  file: string;
  context: string;
  platforms: string[];
  /** ISO time the build finished. */
  builtAt: string;
  /**
   * The images this project and stage were built as, newest first (the current one included): what the up-to-date
   * check looks an input hash up in without asking podman to search its store, and what image retention prunes.
   */
  history?: BuildHistoryEntry[];
}

/** One image a build made. */
export interface BuildHistoryEntry {
  inputHash: string;
  imageId: string;
}

/** The history after a build of `current`: it first, then the earlier entries with other images, newest first. */
export function nextHistory(previous: BuildRecord | undefined, current: BuildHistoryEntry): BuildHistoryEntry[] {
  const earlier = previous?.history ?? (previous ? [{ inputHash: previous.inputHash, imageId: previous.imageId }] : []);
  return [current, ...earlier.filter((entry) => !sameImage(entry.imageId, current.imageId))];
}

/** The image id a record knows for `inputHash` (the current one or one from its history). */
export function knownImageFor(record: BuildRecord | undefined, inputHash: string): string | undefined {
  if (!record) return undefined;
  if (record.inputHash === inputHash) return record.imageId;
  return record.history?.find((entry) => entry.inputHash === inputHash)?.imageId;
}

/** Label carrying the input hash on every image `podman-build` makes. */
export const INPUT_HASH_LABEL = 'io.prism.nx-podman.input-hash';

/** Workspace-relative path of a project's build record for a stage. */
export function buildRecordPath(project: string, stage: string): string {
  return `.nx/podman/builds/${project}/${stage}.json`;
}

/** Parses a build record, returning undefined for anything that is not a version-1 record. */
export function parseBuildRecord(text: string): BuildRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<BuildRecord>;
    if (value.version !== 1 || typeof value.imageId !== 'string' || typeof value.project !== 'string') return undefined;
    return value as BuildRecord;
  } catch {
    return undefined;
  }
}
