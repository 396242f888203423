// Copies what tsc does not emit into the plugin's dist: executor/generator schema.json files, generator templates and
// the status page's script and styles (adapters/status-page/).
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'nx-podman');
const src = join(pkg, 'src');
const dist = join(pkg, 'dist');

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const rel = relative(src, path);
    if (statSync(path).isDirectory()) {
      if (name === 'files' || name === 'status-page') cpSync(path, join(dist, rel), { recursive: true });
      else walk(path);
    } else if (name === 'schema.json') {
      cpSync(path, join(dist, rel));
    }
  }
}
if (!existsSync(dist)) throw new Error(`copy-assets: ${dist} does not exist; run tsc first`);
walk(src);
