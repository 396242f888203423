// Bench workspaces: a template with nx + the packed plugin installed (as e2e/utils/workspace.ts does it), and fresh
// workspaces that symlink its node_modules. Layouts: the stub layout (core + N Go plugins, hand-written like the
// plugin generator's output), the large one (many standalone Go projects, node_modules dirs), and the real one made
// with the plugin generator for real podman builds.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUSYBOX_IMAGE, GO_BUILDER_IMAGE, NX_ENV, nxBin, prepareTemplate as prepareSharedTemplate } from '../lib/workspace-template.mjs';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export { BUSYBOX_IMAGE, DELVE_IMAGE, GO_BUILDER_IMAGE, NX_ENV, nxBin } from '../lib/workspace-template.mjs';

/** Packs the plugin (`npm run package`) and installs nx + the tarball into `dir`. Returns the tarball path. */
export function prepareTemplate(dir, { tarball, log }) {
  return prepareSharedTemplate(dir, { repoRoot: REPO_ROOT, name: 'bench-workspace', tarball, log });
}

/** A fresh workspace in `root` sharing the template's node_modules; git-initialised (nx watch and hashing like it). */
export function createWorkspace(root, templateDir, { nxJson = {} } = {}) {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  symlinkSync(join(templateDir, 'node_modules'), join(root, 'node_modules'));
  cpSync(join(templateDir, 'package.json'), join(root, 'package.json'));
  writeFileSync(join(root, 'nx.json'), JSON.stringify({ analytics: false, plugins: ['@prism/nx-podman'], ...nxJson }, null, 2));
  writeFileSync(join(root, '.gitignore'), 'node_modules\n.nx\n.bench\n');
  const write = (path, content) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  const bin = nxBin(templateDir);
  return {
    root,
    write,
    read: (path) => readFileSync(join(root, path), 'utf8'),
    /** Runs `nx ...args` to completion; throws with the output when it fails. */
    nx(args, env = {}) {
      const result = spawnSync(process.execPath, [bin, ...args], {
        cwd: root,
        env: { ...process.env, ...NX_ENV, ...env },
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      if (result.status !== 0)
        throw new Error(`nx ${args.join(' ')} failed (exit ${result.status}):\n${`${result.stdout}${result.stderr}`.split('\n').slice(-30).join('\n')}`);
      return result.stdout;
    },
    nxArgs: (args) => [bin, ...args],
    gitInit() {
      const git = (...a) => execFileSync('git', a, { cwd: root, stdio: 'ignore' });
      git('init', '-q');
      git('-c', 'user.email=bench@example.com', '-c', 'user.name=bench', 'add', '-A');
      git('-c', 'user.email=bench@example.com', '-c', 'user.name=bench', 'commit', '-qm', 'bench workspace');
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Copies the stub podman into `<workspace>/.bench/podman` with its config; returns {path, home}. */
export function installStubPodman(ws, config) {
  const home = join(ws.root, '.bench');
  mkdirSync(home, { recursive: true });
  const path = join(home, 'podman');
  // Copied rather than symlinked: the stub keeps its log and state next to itself.
  copyFileSync(join(REPO_ROOT, 'scripts', 'bench', 'stub-podman.mjs'), join(home, 'stub-podman.mjs'));
  writeFileSync(path, `#!/bin/sh\nexec "${process.execPath}" "${join(home, 'stub-podman.mjs')}" "$@"\n`);
  chmodSync(path, 0o755);
  writeFileSync(join(home, 'config.json'), JSON.stringify(config));
  writeFileSync(join(home, 'log.jsonl'), '');
  return { path, home, setConfig: (next) => writeFileSync(join(home, 'config.json'), JSON.stringify(next)) };
}

const CORE_GO = (n) =>
  `package core\n\n// Version is the core library version.\nconst Version = "0.1.${n}"\n\n// Greet returns a greeting.\nfunc Greet(name string) string { return "hello " + name }\n`;
const PLUGIN_GO = (name) =>
  `package main\n\nimport (\n\t"fmt"\n\t"net/http"\n\n\t"prism/core"\n)\n\nfunc main() {\n\thttp.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, core.Greet("${name}")) })\n\t_ = http.ListenAndServe(":8080", nil)\n}\n`;
const CONTAINERFILE = (name) =>
  `FROM ${GO_BUILDER_IMAGE} AS builder\nWORKDIR /src\nCOPY core/ core/\nCOPY ${name}/ ${name}/\nWORKDIR /src/${name}\nRUN go build -o /out/plugin .\n\nFROM ${BUSYBOX_IMAGE} AS debug\nCOPY --from=builder /out/plugin /plugin\nENTRYPOINT ["/plugin"]\n\nFROM scratch AS production\nCOPY --from=builder /out/plugin /plugin\nENTRYPOINT ["/plugin"]\n`;

/**
 * The stub layout: plugins/core (Go module prism/core, no Containerfile) and plugins/<name> for each plugin (go.mod
 * replacing prism/core => ../core, main.go importing it, a multi-stage Containerfile), plus `extraFiles` Go files per
 * project so the watcher has something to walk. A root project `bench` holds the watch-reload target.
 */
export function writeStubLayout(ws, { plugins, podman, extraFiles = 5 }) {
  ws.write('plugins/core/go.mod', 'module prism/core\n\ngo 1.19\n');
  ws.write('plugins/core/core.go', CORE_GO(0));
  for (let i = 0; i < extraFiles; i++) ws.write(`plugins/core/util${i}.go`, `package core\n\nfunc util${i}() int { return ${i} }\n`);
  for (const name of plugins) {
    ws.write(`plugins/${name}/go.mod`, `module prism/${name}\n\ngo 1.19\n\nrequire prism/core v0.0.0\n\nreplace prism/core => ../core\n`);
    ws.write(`plugins/${name}/main.go`, PLUGIN_GO(name));
    ws.write(`plugins/${name}/Containerfile`, CONTAINERFILE(name));
    for (let i = 0; i < extraFiles; i++) ws.write(`plugins/${name}/extra${i}.go`, `package main\n\nfunc extra${i}() int { return ${i} }\n`);
  }
  writeWatchProject(ws, { projects: plugins, podman });
}

/** Root project.json with the watch-reload target (options overridable on the command line). */
export function writeWatchProject(ws, { projects, podman, extra = {} }) {
  ws.write(
    'project.json',
    JSON.stringify(
      {
        name: 'bench',
        $schema: 'node_modules/nx/schemas/project-schema.json',
        targets: {
          'watch-reload': {
            executor: '@prism/nx-podman:watch-reload',
            continuous: true,
            options: { projects, ...(podman ? { podman } : {}), ...extra },
          },
        },
      },
      null,
      2,
    ),
  );
}

/**
 * The large layout: `projects` standalone Go modules under services/, `filesPerProject` Go files each (spread over
 * 5 packages), a Containerfile each, and a node_modules dir with `nodeModulesFiles` files in the first project (ignored
 * by the watcher; there to cost it if it were not).
 */
export function writeLargeLayout(ws, { projects, filesPerProject, nodeModulesFiles, podman }) {
  const names = [];
  for (let p = 0; p < projects; p++) {
    const name = `svc${String(p).padStart(3, '0')}`;
    names.push(name);
    const root = join(ws.root, 'services', name);
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'go.mod'), `module example.com/${name}\n\ngo 1.19\n`);
    writeFileSync(
      join(root, 'Containerfile'),
      `FROM ${GO_BUILDER_IMAGE} AS builder\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\n\nFROM scratch AS production\nCOPY --from=builder /out/app /app\nENTRYPOINT ["/app"]\n`,
    );
    writeFileSync(join(root, 'main.go'), 'package main\n\nfunc main() {}\n');
    for (let pkg = 0; pkg < 5; pkg++) mkdirSync(join(root, `pkg${pkg}`), { recursive: true });
    for (let f = 1; f < filesPerProject; f++) {
      const pkg = f % 5;
      writeFileSync(join(root, `pkg${pkg}`, `file${f}.go`), `package pkg${pkg}\n\n// F${f} is generated.\nfunc F${f}() int { return ${f} }\n`);
    }
  }
  const nm = join(ws.root, 'services', names[0], 'node_modules');
  for (let i = 0; i < nodeModulesFiles; i++) {
    const dir = join(nm, `pkg${Math.floor(i / 50)}`);
    if (i % 50 === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `index${i % 50}.js`), `module.exports = ${i};\n`);
  }
  writeWatchProject(ws, { projects: names, podman });
  return names;
}
