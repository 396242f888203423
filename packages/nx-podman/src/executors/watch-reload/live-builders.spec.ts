import { quietLogger } from '../../testing/recording-logger';
import type { FileReader } from '../../core/ports';
import { inferLiveUpdateRecipe, type LiveUpdateRecipe } from '../../core/live-update-recipe';
import type { ImageConfig } from '../../core/podman-output';
import { containerRunSpec } from '../../testing/container-run-spec';
import { FakeClock } from '../../testing/fake-clock';
import { FakeEngine } from '../../testing/fake-engine';
import { createBuilderPool } from './live-builders';
import type { LiveProject } from './live-project';

const containerfile = (plugin: string) => `FROM localhost/prism/go-builder:1.26.8 AS builder
ENV CGO_ENABLED=0
WORKDIR /src
COPY core/ core/
COPY ${plugin}/ ${plugin}/
WORKDIR /src/${plugin}
RUN go build -trimpath -o /out/plugin .
FROM scratch AS production
COPY --from=builder /out/plugin /plugin
`;
const IMAGE: ImageConfig = { id: 'b'.repeat(64), env: { HOME: '/tmp' }, workdir: '/src', user: '' };

function recipeOf(plugin: string): LiveUpdateRecipe {
  const inferred = inferLiveUpdateRecipe(containerfile(plugin), {
    stage: 'production',
    kindOf: () => 'dir',
    image: { workdir: IMAGE.workdir, env: IMAGE.env },
  });
  if (!inferred.ok) throw new Error(inferred.reason);
  return inferred.recipe;
}

function setup() {
  const engine = new FakeEngine();
  engine.on(['ps'], { stdout: '' });
  const removed: string[] = [];
  const files: FileReader = {
    readText: async () => undefined,
    isDirectory: async () => true,
    makeDirectory: async () => undefined,
    pathKind: async () => undefined,
    hashFile: async () => undefined,
    removeDirectory: async (path) => void removed.push(path),
    replaceFileBelow: async () => undefined,
  };
  const pool = createBuilderPool({ workspaceRoot: '/ws', files, clock: new FakeClock(), logger: quietLogger, maxIdle: 2 });
  const project = (name: string): LiveProject => ({
    project: name,
    stage: 'production',
    containerfile: `/ws/plugins/${name}/Containerfile`,
    context: '/ws/plugins',
    buildArgs: {},
    hints: undefined,
    container: containerRunSpec({ name: `${name}-plugin`, project: name }),
    health: { check: { kind: 'running', graceMs: 0 }, timeoutMs: 1000, intervalMs: 100 },
    engine,
  });
  return { engine, pool, project, removed };
}

describe('builder pool', () => {
  it('projects with the same builder image, context, env and user share one builder with all their sources mounted', async () => {
    const { engine, pool, project } = setup();
    const postgres = recipeOf('postgres');
    const kafka = recipeOf('kafka');
    const mounts = [...postgres.mounts, ...kafka.mounts.filter((m) => !postgres.mounts.some((p) => p.target === m.target))];
    const first = await pool.builderFor(project('postgres'), postgres, IMAGE, mounts);
    const second = await pool.builderFor(project('kafka'), kafka, IMAGE);
    expect(second).toBe(first);
    await first.ready;
    expect(engine.callsStartingWith('run')).toHaveLength(1);
    // A project whose sources the shared builder does not mount gets a builder of its own.
    const redis = await pool.builderFor(project('redis'), recipeOf('redis'), IMAGE);
    expect(redis).not.toBe(first);
    await redis.ready;
    expect(engine.callsStartingWith('run')).toHaveLength(2);
    await pool.close();
  });

  it('close removes every builder and its output, then sweeps what podman still lists for this workspace', async () => {
    const { engine, pool, project, removed } = setup();
    const builder = await pool.builderFor(project('postgres'), recipeOf('postgres'), IMAGE);
    await builder.ready;
    engine.on(['ps'], { stdout: 'nx-podman-builder-left-by-a-race\n' });
    await pool.close();
    const removals = engine.callsStartingWith('rm').map((call) => call.at(-1));
    expect(removals).toEqual([builder.spec.name, builder.spec.name, 'nx-podman-builder-left-by-a-race']);
    expect(removed).toEqual([builder.spec.outDir]);
    expect(engine.callsStartingWith('ps')[0]).toEqual(['ps', '-a', '--filter', 'label=nx-podman.builder=/ws', '--format', '{{.Names}}']);
  });

  it('no builder starts once the pool is closing: one asked for then says why and runs nothing', async () => {
    const { engine, pool, project } = setup();
    const closed = pool.close();
    const late = await pool.builderFor(project('postgres'), recipeOf('postgres'), IMAGE);
    await expect(late.ready).resolves.toBe('the watcher is stopping');
    await closed;
    expect(engine.callsStartingWith('run')).toEqual([]);
  });
});
