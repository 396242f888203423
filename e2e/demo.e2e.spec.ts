import { spawnSync } from 'node:child_process';
import { REPO_ROOT, removePodmanObjects, spawnLongRunning, type LongRunning } from './utils/workspace';

// `npm run demo -- --scripted`, exactly as the README runs it: its own workspace in demo-workspace/, the generators,
// real podman and Go, watch-reload with reload, a plugin edit and a core edit.
const PLUGINS = ['postgres', 'kafka', 'redis'];
const CONTAINERS = PLUGINS.flatMap((name) => [`${name}-plugin`, `${name}-plugin-debug`]);

jest.setTimeout(20 * 60_000);

function containerExists(name: string): boolean {
  return spawnSync('podman', ['container', 'exists', name]).status === 0;
}

/** Processes still running the demo's watch target (the demo starts it in its own process group). */
function watchProcesses(): string {
  return spawnSync('pgrep', ['-af', 'run demo:watch-reload'], { encoding: 'utf8' }).stdout.trim();
}

describe('npm run demo -- --scripted (e2e)', () => {
  let demo: LongRunning | undefined;
  let exitCode: number | null = null;

  beforeAll(async () => {
    demo = spawnLongRunning('npm', ['run', 'demo', '--', '--scripted'], REPO_ROOT, { ...process.env, FORCE_COLOR: '0' });
    exitCode = await new Promise<number | null>((resolve) => {
      if (demo!.child.exitCode !== null) resolve(demo!.child.exitCode);
      else demo!.child.on('close', (code) => resolve(code));
    });
  });

  afterAll(async () => {
    await demo?.stop();
    // Only a safety net: the demo removes its containers and images itself (asserted below).
    removePodmanObjects({
      containers: CONTAINERS,
      images: PLUGINS.flatMap((name) => ['production', 'latest', 'debug'].map((tag) => `localhost/prism/${name}-plugin:${tag}`)),
    });
  });

  it('exits 0 with a summary of the rebuilds, reloads and health checks', () => {
    const output = demo!.output();
    if (exitCode !== 0) {
      // What went wrong first (a CI log may show only the start of this message), then the end of the output.
      const reasons = output.split('\n').filter((line) => /demo FAILED|\b(ERROR|WARN)\b|exited|Error:/.test(line));
      throw new Error(`demo exited ${exitCode}:\n${reasons.slice(-20).join('\n')}\n--- the end of its output:\n${output.slice(-6000)}`);
    }

    const summary = output.slice(output.indexOf('=== demo summary'));
    process.stdout.write(`${summary}\n`);
    expect(output).toMatch(/=== demo summary\n/);
    expect(output).toMatch(/initial build \+ start\s+3 plugins healthy after \d+\.\ds/);
    // Both paths, side by side: live update (Go-only change sets) and the full build + replace.
    expect(output).toMatch(/edit plugins\/postgres\/main\.go \(live\)\s+save -> first process \d+\.\ds, save -> healthy \d+\.\ds, updated: postgres\n/);
    expect(output).toMatch(
      /edit plugins\/core\/version\.go \(live\)\s+save -> first process \d+\.\ds, save -> healthy \d+\.\ds, updated: postgres, kafka, redis\n/,
    );
    expect(output).toMatch(
      /edit plugins\/postgres\/main\.go \+ config\.yaml \(full\)\s+save -> first process \d+\.\ds, save -> healthy \d+\.\ds, updated: postgres, reason "plugins\/postgres\/config\.yaml changed \(not a Go source\)"\n/,
    );
    expect(output).toMatch(
      /edit plugins\/core\/version\.go \+ go\.mod \(full\)\s+save -> first process \d+\.\ds, save -> healthy \d+\.\ds, updated: postgres, kafka, redis, reason "plugins\/core\/go\.mod changed"\n/,
    );
    expect(output).toMatch(/health: postgres grpc 127\.0\.0\.1:\d+ SERVING/);
    expect(output).toMatch(/demo: status page \(live state of every plugin; open it in a browser\): http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+\n/);
    expect(output).toMatch(/ {2}status page: http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+\n/);
    expect(output).toMatch(/=== demo passed\n/);
  });

  it('showed the loop working: generators, one rebuild for a plugin edit, one per plugin for a core edit', () => {
    const output = demo!.output();

    for (const name of PLUGINS) expect(output).toContain(`demo: nx g @prism/nx-podman:plugin ${name} --port=`);
    expect(output).toMatch(/INFO watcher ready projects=4/);
    // Each reload checked through grpcurl (the plugin's Info call).
    expect(output).toMatch(
      /demo: postgres serves the new code \(grpcurl prism\.plugin\.v1\.Plugin\/Info\): \{"plugin":"postgres","core":"0\.1\.0","message":"hello again from postgres, edited by the demo"\}/,
    );
    expect(output).toContain('demo: every plugin reports core 0.2.0 (grpcurl prism.plugin.v1.Plugin/Info)');
    expect(output).toContain('demo: every plugin reports core 0.3.0 (grpcurl prism.plugin.v1.Plugin/Info)');
    expect(output).toMatch(/INFO live update completed plugin=postgres duration=\d+\.\ds compile=\d+\.\ds/);
    // On exit: the containers that ran live-updated code are named (step 3 and 4 replaced them, so none here).
    expect(output).not.toMatch(/INFO containers run live-updated code/);
  });

  it('left no container and no watch process behind', () => {
    expect(demo!.output()).toMatch(/demo: removed the demo containers \(postgres-plugin, kafka-plugin, redis-plugin\) and the \d+ images this run built/);
    for (const name of CONTAINERS) expect(containerExists(name)).toBe(false);
    expect(watchProcesses()).toBe('');
  });
});
