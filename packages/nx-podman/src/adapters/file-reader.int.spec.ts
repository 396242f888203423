import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTempDir } from '../testing/temp-dir';
import { createFileReader } from './file-reader';

describe('createFileReader().replaceFileBelow (a live update writing into a container root file system)', () => {
  const files = createFileReader();
  let dir: ReturnType<typeof createTempDir>;
  let rootfs: string;
  let source: string;

  beforeEach(() => {
    dir = createTempDir('nxp-replace-');
    rootfs = join(dir.path, 'merged');
    mkdirSync(join(rootfs, 'app'), { recursive: true });
    writeFileSync(join(rootfs, 'app', 'plugin'), 'old binary');
    chmodSync(join(rootfs, 'app', 'plugin'), 0o700);
    source = join(dir.path, 'built');
    writeFileSync(source, 'new binary');
    chmodSync(source, 0o755);
  });

  afterEach(() => dir.cleanup());

  it('replaces the file by a rename: new bytes, the source mode, the old owner, no temporary file left', async () => {
    const before = statSync(join(rootfs, 'app', 'plugin'));
    await expect(files.replaceFileBelow(source, rootfs, '/app/plugin')).resolves.toBeUndefined();
    const after = statSync(join(rootfs, 'app', 'plugin'));
    expect(readFileSync(join(rootfs, 'app', 'plugin'), 'utf8')).toBe('new binary');
    expect(after.mode & 0o7777).toBe(0o755);
    expect([after.uid, after.gid]).toEqual([before.uid, before.gid]);
    // A new inode: a process running the old file keeps it ("text file busy" never happens).
    expect(after.ino).not.toBe(before.ino);
    expect(readdirSync(join(rootfs, 'app'))).toEqual(['plugin']);
  });

  it('refuses, changing nothing, when the file is missing, a link is on the way (it would lead out of the container), or the path leaves the root', async () => {
    await expect(files.replaceFileBelow(source, rootfs, '/app/other')).resolves.toBe('/app/other does not exist');

    const outside = join(dir.path, 'host');
    mkdirSync(outside);
    writeFileSync(join(outside, 'plugin'), 'host file');
    symlinkSync(outside, join(rootfs, 'linked'));
    await expect(files.replaceFileBelow(source, rootfs, '/linked/plugin')).resolves.toBe('/linked is a symbolic link');
    expect(readFileSync(join(outside, 'plugin'), 'utf8')).toBe('host file');

    symlinkSync('/etc/passwd', join(rootfs, 'app', 'link'));
    await expect(files.replaceFileBelow(source, rootfs, '/app/link')).resolves.toBe('/app/link is a symbolic link');
    await expect(files.replaceFileBelow(source, rootfs, '/app')).resolves.toBe('/app is not a file');
    await expect(files.replaceFileBelow(source, rootfs, '../merged/app/plugin')).resolves.toBe('"../merged/app/plugin" is not a file path');
    expect(readFileSync(join(rootfs, 'app', 'plugin'), 'utf8')).toBe('old binary');
  });
});
