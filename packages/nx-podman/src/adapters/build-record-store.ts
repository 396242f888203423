import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildRecordPath, parseBuildRecord } from '../core/build-record';
import type { BuildRecordStore, LiveUpdateRecord, LiveUpdateRecordStore } from '../core/ports';

/** The real {@link BuildRecordStore}: JSON files under `<workspaceRoot>/.nx/podman/builds`. */
export function createBuildRecordStore(workspaceRoot: string): BuildRecordStore {
  return {
    read: (project, stage) => readJson(join(workspaceRoot, buildRecordPath(project, stage)), parseBuildRecord),
    write: (record) => writeJson(join(workspaceRoot, buildRecordPath(record.project, record.stage)), record),
  };
}

/** Where a project's live update record lives, workspace-relative. */
function liveRecordPath(project: string, stage: string): string {
  return join('.nx', 'podman', 'live', project, `${stage}.json`);
}

function parseLiveRecord(text: string): LiveUpdateRecord | undefined {
  const value = JSON.parse(text) as Partial<LiveUpdateRecord>;
  return typeof value.containerId === 'string' && typeof value.binarySha256 === 'string' ? (value as LiveUpdateRecord) : undefined;
}

/** The real {@link LiveUpdateRecordStore}: JSON files under `<workspaceRoot>/.nx/podman/live`. */
export function createLiveUpdateRecordStore(workspaceRoot: string): LiveUpdateRecordStore {
  return {
    read: (project, stage) => readJson(join(workspaceRoot, liveRecordPath(project, stage)), parseLiveRecord),
    write: (record) => writeJson(join(workspaceRoot, liveRecordPath(record.project, record.stage)), record),
    remove: (project, stage) => rm(join(workspaceRoot, liveRecordPath(project, stage)), { force: true }),
  };
}

async function readJson<T>(path: string, parse: (text: string) => T | undefined): Promise<T | undefined> {
  try {
    return parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // Write then rename: a reader (podman-run in another process) never sees a half-written file.
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
  await rename(tmp, path);
}
