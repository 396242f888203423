// `npm run package [-- --out DIR]`: builds @prism/nx-podman and packs it (default into dist/packages);
// the tarball's absolute path is the last line of output.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = join(root, 'packages', 'nx-podman');
const outIndex = process.argv.indexOf('--out');
const outDir = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : join(root, 'dist', 'packages');
mkdirSync(outDir, { recursive: true });
execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
const out = execFileSync('npm', ['pack', '--json', '--pack-destination', outDir], { cwd: pkgDir, encoding: 'utf8' });
const [{ filename }] = JSON.parse(out);
const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
console.log(`packed @prism/nx-podman@${version}`);
console.log(join(outDir, filename.replace(/^@/, '').replace('/', '-')));
