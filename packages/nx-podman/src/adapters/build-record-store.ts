import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildRecordPath, parseBuildRecord } from '../core/build-record';
import type { BuildRecordStore } from '../core/ports';

/** The real {@link BuildRecordStore}: JSON files under `<workspaceRoot>/.nx/podman/builds`. */
export function createBuildRecordStore(workspaceRoot: string): BuildRecordStore {
  return {
    async read(project, stage) {
      try {
        return parseBuildRecord(await readFile(join(workspaceRoot, buildRecordPath(project, stage)), 'utf8'));
      } catch {
        return undefined;
      }
    },
    async write(record) {
      const path = join(workspaceRoot, buildRecordPath(record.project, record.stage));
      await mkdir(dirname(path), { recursive: true });
      // Write then rename: a reader (podman-run in another process) never sees a half-written file.
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(record, null, 2) + '\n');
      await rename(tmp, path);
    },
  };
}
