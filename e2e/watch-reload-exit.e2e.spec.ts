import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BUSYBOX_IMAGE, createE2eWorkspace, removePodmanObjects, TEMPLATE_DIR, type E2eWorkspace, type LongRunning } from './utils/workspace';
import { hostCommands, podmanProcesses } from '../packages/nx-podman/src/testing/host-processes';
import { describeWithPodman } from '../packages/nx-podman/src/testing/podman-available';

/**
 * How watch-reload ends and what it leaves (issue 15): four plugins on busybox httpd (fast builds, no Go), one whose
 * PID 1 ignores SIGTERM. `stopOnExit` stops them all within what Nx allows; SIGTERM to `nx` alone stops cleanly; a
 * same-content save replaces nothing.
 */
const PLUGINS = [
  { name: 'xa', port: 19281, ignoresSigterm: false },
  { name: 'xb', port: 19282, ignoresSigterm: false },
  { name: 'xc', port: 19283, ignoresSigterm: false },
  // busybox httpd as PID 1 has no SIGTERM handler: podman stop waits the stop timeout, then SIGKILLs.
  { name: 'xd', port: 19284, ignoresSigterm: true },
] as const;
const STEP_TIMEOUT = 240_000;
const RUN = Date.now().toString(36);
const containerName = (name: string) => `nxp-exit-${name}`;
const imageRepo = (name: string) => `localhost/nxp-exit/${name}`;

/** Each plugin container's state (`running`, `exited`, `stopping`, ...), or `missing`. */
function containerStates(): Record<string, string> {
  return Object.fromEntries(
    PLUGINS.map(({ name }) => {
      const result = spawnSync('podman', ['inspect', '--format', '{{.State.Status}}', containerName(name)], { encoding: 'utf8' });
      return [containerName(name), result.status === 0 ? result.stdout.trim() : 'missing'];
    }),
  );
}

describeWithPodman('watch-reload e2e: exit, stopOnExit and signals (busybox plugins, real podman)', () => {
  let workspace: E2eWorkspace;
  let watch: LongRunning | undefined;
  const timings: Record<string, number> = {};

  beforeAll(() => {
    removePodmanObjects({ containers: PLUGINS.map((p) => containerName(p.name)) });
    workspace = createE2eWorkspace('watch-exit');
    for (const plugin of PLUGINS) {
      const { name, port } = plugin;
      workspace.write(
        `plugins/${name}/project.json`,
        JSON.stringify({
          tags: ['exit'],
          targets: {
            'podman-build': { options: { tags: [`${imageRepo(name)}:{stage}`] } },
            // The default stop timeout (10 s) on purpose: stopOnExit must not wait it out.
            'podman-run': {
              options: {
                name: containerName(name),
                ports: [`${port}:8080`],
                healthCheck: { http: `http://127.0.0.1:${port}/healthz`, timeout: 30, interval: 0.2 },
              },
            },
          },
        }),
      );
      workspace.write(`plugins/${name}/go.mod`, `module prism/${name}\n\ngo 1.19\n`);
      workspace.write(`plugins/${name}/www/healthz`, `${name} v1 ${RUN}\n`);
      const command = plugin.ignoresSigterm
        ? '["httpd", "-f", "-p", "8080", "-h", "/www"]'
        : `["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]`;
      workspace.write(`plugins/${name}/Containerfile`, `FROM ${BUSYBOX_IMAGE} AS production\nCOPY www /www\nCMD ${command}\n`);
    }
  });

  afterAll(async () => {
    await watch?.stop('SIGKILL');
    removePodmanObjects({ containers: PLUGINS.map((p) => containerName(p.name)) });
    for (const ref of PLUGINS.map((p) => `${imageRepo(p.name)}:production`)) spawnSync('podman', ['rmi', '-f', ref], { stdio: 'ignore' });
    workspace?.cleanup();
    process.stdout.write(`watch-reload exit e2e timings (ms): ${JSON.stringify(timings)}\n`);
  });

  const start = async (extra: string[] = [], { live = false } = {}) => {
    // A test that failed half-way may have left its watcher running: Nx would make the next one wait for it.
    await watch?.stop('SIGKILL');
    const args = ['run', 'xa:watch-reload', '--projects=tag:exit', '--reload', '--initialBuild', '--stopOnExit', '--debounce=300', '--concurrency=4'];
    watch = workspace.spawnNx([...args, ...(live ? [] : ['--liveUpdate=off']), ...extra]);
    await watch.waitFor(/INFO watcher ready projects=4/, 120_000);
    for (const { name } of PLUGINS) await watch.waitFor(new RegExp(`INFO plugin healthy plugin=${name}`), 180_000);
    return watch;
  };

  /**
   * Makes xc's next build hang in `RUN sleep N` and waits until that step runs on the host. `sleeping()` lists the
   * step's processes; `restore()` puts the fast Containerfile back (call it whatever happens: the next tests need it).
   */
  const slowBuild = async (running: LongRunning, offset: number) => {
    const seconds = 1000 + ((process.pid + offset) % 9000);
    const sleeping = () => hostCommands().filter((command) => command === `sleep ${seconds}`);
    const from = running.output().length;
    workspace.write(
      'plugins/xc/Containerfile',
      `FROM ${BUSYBOX_IMAGE} AS production\nRUN sleep ${seconds}\nCOPY www /www\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
    );
    const restore = () =>
      workspace.write(
        'plugins/xc/Containerfile',
        `FROM ${BUSYBOX_IMAGE} AS production\nCOPY www /www\nCMD ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]\n`,
      );
    try {
      await running.waitFor(/INFO building plugin plugin=xc/, 60_000, from);
      for (let i = 0; i < 100 && sleeping().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    } catch (error) {
      restore();
      throw error;
    }
    return { from, sleeping, restore };
  };

  it(
    'a save with the same content builds nothing and replaces nothing (the container already runs that image)',
    async () => {
      const running = await start();
      const before = execFileSync('podman', ['inspect', '--format', '{{.Id}}', containerName('xb')], { encoding: 'utf8' }).trim();
      const from = running.output().length;
      workspace.write('plugins/xb/www/healthz', `xb v1 ${RUN}\n`);
      await running.waitFor(/INFO container already runs this image plugin=xb/, 60_000, from);
      const since = running.output().slice(from);
      expect(since).toMatch(/INFO image up to date plugin=xb/);
      expect(since).not.toMatch(/starting plugin container plugin=xb/);
      expect(execFileSync('podman', ['inspect', '--format', '{{.Id}}', containerName('xb')], { encoding: 'utf8' }).trim()).toBe(before);
    },
    STEP_TIMEOUT,
  );

  it(
    'live update on, a project with no recipe (busybox, no Go build): after a deployed edit, a same-content save replaces nothing',
    async () => {
      const running = await start([], { live: true });
      let from = running.output().length;
      workspace.write('plugins/xb/www/healthz', `xb v2 ${RUN}\n`);
      await running.waitFor(/INFO plugin healthy plugin=xb/, 120_000, from);
      expect(running.output().slice(from)).toMatch(/INFO full rebuild plugin=xb reason=/);
      const before = execFileSync('podman', ['inspect', '--format', '{{.Id}}', containerName('xb')], { encoding: 'utf8' }).trim();
      from = running.output().length;
      workspace.write('plugins/xb/www/healthz', `xb v2 ${RUN}\n`);
      await running.waitFor(/INFO container already runs this image plugin=xb/, 60_000, from);
      expect(running.output().slice(from)).not.toMatch(/starting plugin container plugin=xb/);
      expect(execFileSync('podman', ['inspect', '--format', '{{.Id}}', containerName('xb')], { encoding: 'utf8' }).trim()).toBe(before);
    },
    STEP_TIMEOUT,
  );

  it(
    'a COPY added to a Containerfile while watching: the image rebuilds, and the newly copied file is watched from then on',
    async () => {
      const running = watch!;
      workspace.write('plugins/xa/config.yaml', 'level: 1\n');
      let from = running.output().length;
      const containerfile = workspace.read('plugins/xa/Containerfile');
      workspace.write('plugins/xa/Containerfile', containerfile.replace('COPY www /www\n', 'COPY www /www\nCOPY config.yaml /etc/plugin/\n'));
      await running.waitFor(/INFO plugin healthy plugin=xa/, 120_000, from);
      from = running.output().length;
      workspace.write('plugins/xa/config.yaml', 'level: 2\n');
      await running.waitFor(/INFO plugin healthy plugin=xa/, 120_000, from);
      expect(running.output().slice(from)).toMatch(/INFO building plugin plugin=xa/);
      expect(execFileSync('podman', ['exec', containerName('xa'), 'cat', '/etc/plugin/config.yaml'], { encoding: 'utf8' })).toBe('level: 2\n');
    },
    STEP_TIMEOUT,
  );

  it(
    'Ctrl-C with stopOnExit stops all four containers within the time Nx allows, none left "stopping", even the one ignoring SIGTERM',
    async () => {
      const running = watch!;
      const group = running.child.pid!;
      expect(Object.values(containerStates())).toEqual(['running', 'running', 'running', 'running']);
      const sent = Date.now();
      const code = await running.stop('SIGINT');
      timings.ctrlCToExit = Date.now() - sent;
      watch = undefined;
      expect([0, 130]).toContain(code);
      const states = containerStates();
      expect(Object.entries(states).filter(([, state]) => state !== 'exited')).toEqual([]);
      expect(podmanProcesses(group, 'nxp-exit')).toEqual([]);
    },
    STEP_TIMEOUT,
  );

  it(
    'Ctrl-C during a build: the RUN step in progress is gone from the host within 5 s, and no build container is left',
    async () => {
      const running = await start();
      const group = running.child.pid!;
      const containersBefore = new Set(
        execFileSync('podman', ['ps', '-a', '--external', '--format', '{{.ID}}'], { encoding: 'utf8' }).split('\n').filter(Boolean),
      );
      const { sleeping, restore } = await slowBuild(running, 0);
      try {
        expect(sleeping()).toHaveLength(1);
        const sent = Date.now();
        await running.stop('SIGINT');
        watch = undefined;
        while (sleeping().length > 0 && Date.now() - sent < 5000) await new Promise((resolve) => setTimeout(resolve, 100));
        timings.ctrlCToStepGone = Date.now() - sent;
        expect(sleeping()).toEqual([]);
        expect(podmanProcesses(group, 'nxp-exit')).toEqual([]);
        const left = execFileSync('podman', ['ps', '-a', '--external', '--format', '{{.ID}}'], { encoding: 'utf8' })
          .split('\n')
          .filter((id) => id && !containersBefore.has(id));
        expect(left).toEqual([]);
      } finally {
        restore();
      }
    },
    STEP_TIMEOUT,
  );

  it(
    'SIGTERM to the nx process alone (a process manager, an IDE) stops cleanly: containers stopped, no podman left',
    async () => {
      const running = await start();
      const group = running.child.pid!;
      const sent = Date.now();
      const code = await running.stop('SIGTERM', { group: false });
      timings.sigtermToExit = Date.now() - sent;
      watch = undefined;
      timings.sigtermExitCode = code;
      expect(code).not.toBe(0);
      expect(Object.entries(containerStates()).filter(([, state]) => state !== 'exited')).toEqual([]);
      expect(podmanProcesses(group, 'nxp-exit')).toEqual([]);
    },
    STEP_TIMEOUT,
  );

  it(
    'SIGTERM to the nx process alone while a build runs: the clean stop (stopping, the build aborted, containers stopped, no podman left)',
    async () => {
      const running = await start();
      const group = running.child.pid!;
      const { from, sleeping, restore } = await slowBuild(running, 7);
      try {
        expect(sleeping()).toHaveLength(1);
        const sent = Date.now();
        await running.stop('SIGTERM', { group: false });
        timings.sigtermDuringBuildToExit = Date.now() - sent;
        watch = undefined;
        const output = running.output().slice(from);
        expect(output).toMatch(/INFO stopping/);
        expect(output).toMatch(/INFO stopped\b/);
        expect(sleeping()).toEqual([]);
        expect(Object.entries(containerStates()).filter(([, state]) => state !== 'exited')).toEqual([]);
        expect(podmanProcesses(group, 'nxp-exit')).toEqual([]);
      } finally {
        restore();
      }
    },
    STEP_TIMEOUT,
  );

  it(
    'SIGTERM straight to the executor process ends it by SIGTERM (143), not as a success',
    () => {
      // The packed plugin's own helper, in a process of its own: SIGTERM while it works, the work sees the abort, then
      // the process ends by SIGTERM.
      const helper = join(TEMPLATE_DIR, 'node_modules', '@prism', 'nx-podman', 'dist', 'adapters', 'process-signals.js');
      const script = `
        const { runUntilSignal } = require(${JSON.stringify(helper)});
        runUntilSignal(({ signal }) => new Promise((resolve) => {
          const working = setInterval(() => undefined, 1000);
          signal.addEventListener('abort', () => {
            console.log('aborted, cleaning up');
            setTimeout(() => { clearInterval(working); resolve({ success: true }); }, 200);
          });
          setTimeout(() => process.kill(process.pid, 'SIGTERM'), 100);
        })).then(() => console.log('still alive after the work: wrong'));
      `;
      const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
      expect(result.stdout).toContain('aborted, cleaning up');
      expect(result.stdout).not.toContain('still alive');
      expect(result.signal).toBe('SIGTERM'); // a shell shows it as exit 143
    },
    STEP_TIMEOUT,
  );
});
