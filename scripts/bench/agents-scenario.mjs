// Measurement 9: builds shared by CI agents (issue 12.4). Real podman, real Go, a real registry (docker-registry):
// the 3 plugins of a generated workspace built with `nx run-many -t podman-build -c ci` (the `registry` plugin option's
// configuration: push + registry cache) by agent A, an empty podman storage (a cold build), then by agent B, another
// empty storage on the same commit. Time and `podman build`s run, each.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { agentStorage, saveImages, startRegistry } from '../lib/test-registry.mjs';
import { BUSYBOX_IMAGE, GO_BUILDER_IMAGE, NX_ENV, createWorkspace } from './workspace.mjs';

const PLUGINS = ['nxpagenta', 'nxpagentb', 'nxpagentc'];

const count = (output, pattern) => output.split('\n').filter((line) => pattern.test(line)).length;

export async function measureAgents(root, templateDir, { log }) {
  const registry = await startRegistry();
  const archive = saveImages([GO_BUILDER_IMAGE]);
  const rows = [];
  try {
    const ws = createWorkspace(root, templateDir, { nxJson: { plugins: [{ plugin: '@prism/nx-podman', options: { registry: `${registry.host}/bench` } }] } });
    for (const [index, name] of PLUGINS.entries()) {
      ws.nx([
        'g',
        '@prism/nx-podman:plugin',
        name,
        `--port=${29901 + index}`,
        `--builderImage=${GO_BUILDER_IMAGE}`,
        '--runtimeImage=scratch',
        `--debugImage=${BUSYBOX_IMAGE}`,
        '--protocol=http',
        '--no-interactive',
      ]);
    }
    ws.gitInit();
    for (const agent of ['A (empty storage: cold)', 'B (empty storage, same commit)']) {
      const storage = agentStorage(agent[0].toLowerCase(), archive.path);
      try {
        // A fresh checkout on each agent: no build records.
        rmSync(join(ws.root, '.nx', 'podman'), { recursive: true, force: true });
        log(`agents: ${agent}: nx run-many -t podman-build -c ci`);
        const started = Date.now();
        const result = spawnSync(
          process.execPath,
          ws.nxArgs(['run-many', '-t', 'podman-build', '-c', 'ci', `--projects=${PLUGINS.join(',')}`, '--output-style=static']),
          {
            cwd: ws.root,
            env: { ...process.env, ...NX_ENV, NX_DAEMON: 'false', ...registry.env, ...storage.env },
            encoding: 'utf8',
            maxBuffer: 256 * 1024 * 1024,
          },
        );
        const output = `${result.stdout}${result.stderr}`;
        rows.push({
          agent,
          ms: Date.now() - started,
          exitCode: result.status,
          builds: count(output, /INFO building plugin plugin=/),
          fromRegistry: count(output, /INFO image up to date \(registry\) plugin=/),
          problems:
            result.status === 0
              ? []
              : [
                  output
                    .split('\n')
                    .filter((line) => /ERROR|failed/.test(line))
                    .slice(-3)
                    .join(' '),
                ],
        });
      } finally {
        storage.remove();
      }
    }
  } finally {
    archive.remove();
    await registry.stop();
  }
  return { plugins: PLUGINS.length, rows };
}
