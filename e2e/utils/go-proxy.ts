import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * An offline Go module proxy for the e2e tests (`GOPROXY=file://<dir>`), made from Go sources a Debian
 * `golang-*-dev` package installs under /usr/share/gocode/src (npm test installs golang-github-google-uuid-dev).
 * Layout as `go help goproxy` describes it: `<module>/@v/list`, `<version>.info`, `.mod` and `.zip`.
 */
export interface GoModuleSource {
  /** Module path, e.g. github.com/google/uuid. */
  module: string;
  /** Debian package holding it. */
  debianPackage: string;
}

export const UUID_MODULE: GoModuleSource = { module: 'github.com/google/uuid', debianPackage: 'golang-github-google-uuid-dev' };

/** The module's version from its Debian package version (`1.3.0-1` → `v1.3.0`). */
export function debianModuleVersion(source: GoModuleSource): string {
  const result = spawnSync('dpkg-query', ['-W', '-f', '${Version}', source.debianPackage], { encoding: 'utf8' });
  const upstream = /^(?:\d+:)?(\d+\.\d+\.\d+)/.exec(result.stdout.trim())?.[1];
  if (result.status !== 0 || !upstream)
    throw new Error(`${source.debianPackage} is not installed: npm test installs it (apt-get install -y ${source.debianPackage}).`);
  return `v${upstream}`;
}

/** Adds `source` to the proxy in `proxyDir` and returns its version. */
export function addModuleToProxy(proxyDir: string, source: GoModuleSource): string {
  const version = debianModuleVersion(source);
  const sourceDir = join('/usr/share/gocode/src', source.module);
  const versionDir = join(proxyDir, source.module, '@v');
  mkdirSync(versionDir, { recursive: true });
  writeFileSync(join(versionDir, 'list'), `${version}\n`);
  writeFileSync(join(versionDir, `${version}.info`), JSON.stringify({ Version: version, Time: '2022-01-01T00:00:00Z' }));
  writeFileSync(join(versionDir, `${version}.mod`), readFileSync(join(sourceDir, 'go.mod')));
  const files = listFiles(sourceDir).map((path) => ({ name: `${source.module}@${version}/${relative(sourceDir, path)}`, data: readFileSync(path) }));
  writeFileSync(join(versionDir, `${version}.zip`), storedZip(files));
  return version;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      const stats = statSync(path);
      // A module zip holds the module's files only: no nested modules, no VCS directories.
      if (stats.isDirectory()) return name.startsWith('.') || name === 'vendor' ? [] : listFiles(path);
      return stats.isFile() ? [path] : [];
    });
}

/** A zip archive with every entry stored (no compression): all `go mod download` needs. */
function storedZip(files: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name);
    const crc = crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(file.data.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(file.data.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, file.data);
    centrals.push(central, name);
    offset += local.length + name.length + file.data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
