import type { Logger } from '../../core/ports';
import type { WorkspaceGraph, WorkspaceProject } from '../../core/workspace-graph';
import { FakeClock } from '../../testing/fake-clock';
import { createChangeRouter, GRAPH_REFRESH_DELAY_MS } from './change-router';
import { normalizeWatchReloadOptions } from './normalize-options';
import { buildWatchModel } from './watch-model';

const plugin = (name: string, root = `plugins/${name}`): WorkspaceProject => ({ name, root, tags: [], targets: { 'podman-build': {} } });
const graph = (extra: Record<string, WorkspaceProject> = {}): WorkspaceGraph => ({
  projects: { core: { name: 'core', root: 'plugins/core', tags: [], targets: {} }, postgres: plugin('postgres'), kafka: plugin('kafka'), ...extra },
  dependencies: { postgres: ['core'], kafka: ['core'], core: [] },
  namedInputs: {},
});
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
};

async function setup(graphs: WorkspaceGraph[] = [graph()], files: Record<string, string> = {}) {
  const options = normalizeWatchReloadOptions(
    { projects: ['postgres', 'kafka', 'extra'].slice(0, graphs.length > 1 ? 3 : 2) },
    { projectName: 'postgres', env: {} },
  );
  const sources = {
    describeBuild: async (project: string) =>
      files[`plugins/${project}/Containerfile`] ? { file: `plugins/${project}/Containerfile`, context: 'plugins' } : undefined,
    readFile: async (path: string) => files[path],
  };
  const lines: string[] = [];
  const logger: Logger = {
    verbose: true,
    debug: (msg, fields) => lines.push(`DEBUG ${msg} ${JSON.stringify(fields ?? {})}`),
    info: (msg, fields) => lines.push(`INFO ${msg} ${JSON.stringify(fields ?? {})}`),
    warn: (msg) => lines.push(`WARN ${msg}`),
    error: (msg) => lines.push(`ERROR ${msg}`),
    output: () => undefined,
  };
  const notified: [string[], string][] = [];
  const watched: string[][] = [];
  const clock = new FakeClock();
  let reads = 0;
  const initialOptions = normalizeWatchReloadOptions({ projects: ['postgres', 'kafka'] }, { projectName: 'postgres', env: {} });
  const router = createChangeRouter(await buildWatchModel(graphs[0], initialOptions, sources), {
    ...sources,
    workspaceRoot: '/ws',
    options,
    graph: { read: async () => graphs[Math.min(++reads, graphs.length - 1)] },
    clock,
    logger,
    notify: (projects, reason) => notified.push([[...projects], reason]),
    requestBuild: (projects, reason) => notified.push([[...projects], reason]),
    watch: (paths) => watched.push([...paths]),
  });
  return { router, notified, watched, clock, lines, reads: () => reads };
}

describe('createChangeRouter', () => {
  it('routes a plugin file to that plugin, and a core file to every plugin that imports core, never core', async () => {
    const { router, notified } = await setup();
    router.route({ op: 'change', path: '/ws/plugins/postgres/main.go' });
    router.route({ op: 'change', path: '/ws/plugins/core/server.go' });
    expect(notified).toEqual([
      [['postgres'], 'plugins/postgres/main.go'],
      [['kafka', 'postgres'], 'plugins/core/server.go'],
    ]);
  });

  it('drops files outside the watched projects, non-inputs and always-excluded paths', async () => {
    const { router, notified } = await setup();
    router.route({ op: 'change', path: '/ws/tools/x.go' });
    router.route({ op: 'change', path: '/ws/plugins/postgres/main_test.go' });
    router.route({ op: 'change', path: '/ws/plugins/postgres/.git/index' });
    router.route({ op: 'addDir', path: '/ws/plugins/postgres/internal' });
    expect(notified).toEqual([]);
  });

  it('watches the parent of the project roots', async () => {
    const { router } = await setup();
    expect(router.watchedDirectories).toEqual(['/ws/plugins']);
  });

  it('refreshes the graph once, after the last go.mod event settles, and builds a project that appeared', async () => {
    const { router, notified, clock, reads, watched } = await setup([graph(), graph({ extra: plugin('extra', 'services/extra') })]);
    router.route({ op: 'add', path: '/ws/plugins/postgres/go.mod' });
    clock.advance(GRAPH_REFRESH_DELAY_MS - 1);
    router.route({ op: 'change', path: '/ws/plugins/kafka/go.mod' });
    clock.advance(GRAPH_REFRESH_DELAY_MS);
    await flush();
    expect(reads()).toBe(1);
    expect(router.model.buildable.has('extra')).toBe(true);
    expect(watched).toEqual([['/ws/services']]);
    expect(notified).toContainEqual([['extra'], 'project added']);
  });

  it.each([
    ['a COPY added to the Containerfile', 'plugins/postgres/Containerfile', 'FROM scratch\nCOPY postgres/main.go /x\nCOPY postgres/config.yaml /etc/plugin/\n'],
    ["a rule removed from the context's .containerignore", 'plugins/.containerignore', ''],
  ])('%s while watching: the input filter is refreshed, and the newly copied file is watched', async (_, file, text) => {
    const files: Record<string, string> = { 'plugins/postgres/Containerfile': 'FROM scratch\nCOPY postgres/main.go /x\n' };
    if (file.endsWith('.containerignore')) {
      files['plugins/postgres/Containerfile'] += 'COPY postgres/config.yaml /etc/plugin/\n';
      files['plugins/.containerignore'] = '**/config.yaml\n';
    }
    const { router, notified, clock } = await setup([graph()], files);
    router.route({ op: 'change', path: '/ws/plugins/postgres/config.yaml' });
    expect(notified).toEqual([]);
    files[file] = text;
    router.route({ op: 'change', path: `/ws/${file}` });
    clock.advance(GRAPH_REFRESH_DELAY_MS);
    await flush();
    router.route({ op: 'change', path: '/ws/plugins/postgres/config.yaml' });
    expect(notified.at(-1)).toEqual([['postgres'], 'plugins/postgres/config.yaml']);
  });

  it('after close: no routing, the pending refresh is cancelled', async () => {
    const { router, notified, clock, reads } = await setup();
    router.route({ op: 'add', path: '/ws/plugins/postgres/go.mod' });
    await router.close();
    clock.runAll();
    router.route({ op: 'change', path: '/ws/plugins/postgres/main.go' });
    expect(reads()).toBe(0);
    expect(notified).toEqual([[['postgres'], 'plugins/postgres/go.mod']]);
  });
});
