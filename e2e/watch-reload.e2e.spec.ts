import { writeFileSync } from 'node:fs';
import { GO_BUILDER_IMAGE, createE2eWorkspace, removePodmanObjects, linesAfter, type E2eWorkspace, type LongRunning } from './utils/workspace';
import { podmanProcesses } from '../packages/nx-podman/src/testing/host-processes';
import { describeWithPodman } from '../packages/nx-podman/src/testing/podman-available';

/**
 * The inner loop end to end: a fresh workspace with core + 3 Go plugins (graph inferred from go.mod and Containerfiles),
 * `nx run postgres:watch-reload --projects=tag:plugin --reload`, real podman, real Go builds, real file events.
 */
const PLUGINS = [
  { name: 'postgres', port: 19181 },
  { name: 'kafka', port: 19182 },
  { name: 'redis', port: 19183 },
] as const;
/** A plugin created while the watch runs. */
const LATE = { name: 'mysql', port: 19184 } as const;
// The e2e project's testTimeout is not applied per project by Jest: every test here says how long it may take.
const STEP_TIMEOUT = 300_000;
// Values unique to this run: podman-build's up-to-date check must never find an image from an earlier run.
const RUN = Date.now().toString(36);
const containerName = (name: string) => `nxp-wr-${name}`;
const imageRepo = (name: string) => `localhost/nxp-wr/${name}`;

function coreSource(value: string): string {
  return `package core\n\n// Value is shared by every plugin; the e2e test changes it (run ${RUN}).\nconst Value = "${value}"\n`;
}

function pluginSource(name: string, value: string): string {
  return `package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"prism/core"
)

const pluginValue = "${value}"

const run = "${RUN}"

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-stop; os.Exit(0) }()
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "${name} core=%s plugin=%s\\n", core.Value, pluginValue)
	})
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
`;
}

function containerfile(name: string): string {
  return [
    `FROM ${GO_BUILDER_IMAGE} AS builder`,
    'WORKDIR /src',
    'COPY core/ core/',
    `COPY ${name}/ ${name}/`,
    `RUN --mount=type=cache,target=/tmp/gocache cd ${name} && go build -o /out/plugin .`,
    'FROM scratch AS production',
    'COPY --from=builder /out/plugin /plugin',
    'ENTRYPOINT ["/plugin"]',
    '',
  ].join('\n');
}

async function get(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
  return (await response.text()).trim();
}

describeWithPodman('watch-reload e2e: core + 3 Go plugins, real podman', () => {
  let workspace: E2eWorkspace;
  let watch: LongRunning | undefined;
  const timings: Record<string, number> = {};

  beforeAll(() => {
    removePodmanObjects({ containers: [...PLUGINS, LATE].map((p) => containerName(p.name)) });
    workspace = createE2eWorkspace('watch-reload');
    workspace.write('plugins/core/go.mod', 'module prism/core\n\ngo 1.19\n');
    workspace.write('plugins/core/core.go', coreSource('core-v1'));
    workspace.write('plugins/core/core_test.go', 'package core\n\nimport "testing"\n\nfunc TestValue(t *testing.T) {}\n');
    for (const plugin of PLUGINS) writePlugin(plugin);
  });

  function writePlugin({ name, port }: { name: string; port: number }): void {
    // project.json first: the graph refresh that go.mod + Containerfile trigger must see the tags and the settings.
    // Tags for the selector; names, tags and ports unique to this test so that other tests' objects are never touched.
    workspace.write(
      `plugins/${name}/project.json`,
      JSON.stringify({
        tags: ['plugin'],
        targets: {
          'podman-build': { options: { tags: [`${imageRepo(name)}:{stage}`] } },
          'podman-run': {
            options: {
              name: containerName(name),
              ports: [`${port}:8080`],
              healthCheck: { http: `http://127.0.0.1:${port}/healthz`, timeout: 30 },
              stopTimeout: 3,
            },
          },
        },
      }),
    );
    workspace.write(`plugins/${name}/main.go`, pluginSource(name, `${name}-v1`));
    workspace.write(`plugins/${name}/Containerfile`, containerfile(name));
    workspace.write(`plugins/${name}/go.mod`, `module prism/${name}\n\ngo 1.19\n\nrequire prism/core v0.0.0\n\nreplace prism/core => ../core\n`);
  }

  let lastOutput = '';
  afterEach(() => {
    if (watch) lastOutput = watch.output();
  });

  afterAll(async () => {
    await watch?.stop('SIGKILL');
    removePodmanObjects({
      containers: [...PLUGINS, LATE].map((p) => containerName(p.name)),
      images: [...PLUGINS, LATE].map((p) => `${imageRepo(p.name)}:production`),
    });
    if (workspace && process.env.NX_PODMAN_E2E_KEEP_LOG) writeFileSync(process.env.NX_PODMAN_E2E_KEEP_LOG, lastOutput);
    workspace?.cleanup();
    process.stdout.write(`watch-reload e2e timings (ms): ${JSON.stringify(timings)}\n`);
  });

  it(
    'infers the graph: plugins depend on core, core has no build target',
    () => {
      const shown = workspace.nx(['show', 'project', 'postgres', '--json']);
      expect(shown.code).toBe(0);
      expect(shown.output).toContain('@prism/nx-podman:watch-reload');
      const core = workspace.nx(['show', 'project', 'core', '--json']);
      expect(core.output).not.toContain('podman-build');
    },
    STEP_TIMEOUT,
  );

  it(
    'starts with options from the command line, builds and runs every plugin once',
    async () => {
      watch = workspace.spawnNx([
        'run',
        'postgres:watch-reload',
        '--projects=tag:plugin',
        '--reload',
        '--initialBuild',
        '--debounce=700',
        '--concurrency=3',
        '--liveUpdate=off',
      ]);
      await watch.waitFor(/INFO watcher ready projects=4 debounce=700ms/, 120_000);
      for (const name of ['core', 'postgres', 'kafka', 'redis'])
        expect(watch.output()).toMatch(new RegExp(`INFO watching plugin plugin=${name} path=plugins/${name}`));
      for (const { name } of PLUGINS) await watch.waitFor(new RegExp(`INFO plugin healthy plugin=${name}`), 240_000);
      for (const { name, port } of PLUGINS) expect(await get(port)).toBe(`${name} core=core-v1 plugin=${name}-v1`);
      expect(watch.output()).not.toMatch(/building plugin plugin=core/);
    },
    STEP_TIMEOUT,
  );

  it(
    'a plugin edit rebuilds only that image and replaces only its container, serving the new code',
    async () => {
      const from = watch!.output().length;
      const saved = Date.now();
      workspace.write('plugins/postgres/main.go', pluginSource('postgres', 'postgres-v2'));
      await watch!.waitFor(/INFO building plugin plugin=postgres/, 60_000, from);
      timings.saveToBuildStart = Date.now() - saved;
      await watch!.waitFor(/INFO plugin healthy plugin=postgres/, 120_000, from);
      timings.saveToHealthy = Date.now() - saved;
      expect(await get(19181)).toBe('postgres core=core-v1 plugin=postgres-v2');
      expect(await get(19182)).toBe('kafka core=core-v1 plugin=kafka-v1');
      expect(linesAfter(watch!, from, /building plugin/)).toEqual([expect.stringContaining('plugin=postgres')]);
      expect(linesAfter(watch!, from, /starting plugin container/)).toEqual([expect.stringContaining('plugin=postgres')]);
    },
    STEP_TIMEOUT,
  );

  it(
    'a test file or a README in core changes nothing',
    async () => {
      const from = watch!.output().length;
      workspace.write('plugins/core/core_test.go', 'package core\n\nimport "testing"\n\nfunc TestValue(t *testing.T) { t.Log("x") }\n');
      workspace.write('plugins/core/README.md', '# core\n');
      // A real change right after proves the watcher is alive; nothing else may have been built before it.
      workspace.write('plugins/redis/main.go', pluginSource('redis', 'redis-v2'));
      await watch!.waitFor(/INFO plugin healthy plugin=redis/, 120_000, from);
      expect(linesAfter(watch!, from, /building plugin/)).toEqual([expect.stringContaining('plugin=redis')]);
    },
    STEP_TIMEOUT,
  );

  it(
    'a core edit rebuilds and restarts each plugin once, and never starts a container for core',
    async () => {
      const from = watch!.output().length;
      workspace.write('plugins/core/core.go', coreSource('core-v2'));
      for (const { name } of PLUGINS) await watch!.waitFor(new RegExp(`INFO plugin healthy plugin=${name}`), 180_000, from);
      for (const { name, port } of PLUGINS) expect(await get(port)).toMatch(new RegExp(`^${name} core=core-v2 `));
      const builds = linesAfter(watch!, from, /INFO building plugin/).map((line) => line.match(/plugin=(\S+)/)![1]);
      expect(builds.sort()).toEqual(['kafka', 'postgres', 'redis']);
      const starts = linesAfter(watch!, from, /INFO starting plugin container/).map((line) => line.match(/plugin=(\S+)/)![1]);
      expect(starts.sort()).toEqual(['kafka', 'postgres', 'redis']);
    },
    STEP_TIMEOUT,
  );

  it(
    'a syntax error fails the build and leaves the old container serving; fixing it reloads',
    async () => {
      let from = watch!.output().length;
      workspace.write('plugins/kafka/main.go', pluginSource('kafka', 'kafka-v3').replace('func main() {', 'func main() {{'));
      await watch!.waitFor(/ERROR build failed plugin=kafka exit=\d+/, 120_000, from);
      await watch!.waitFor(/INFO keeping the running container plugin=kafka/, 10_000, from);
      // The last lines of the build output name the error.
      expect(watch!.output().slice(from)).toMatch(/main\.go:\d+:\d+: syntax error/);
      expect(await get(19182)).toBe('kafka core=core-v2 plugin=kafka-v1');
      from = watch!.output().length;
      workspace.write('plugins/kafka/main.go', pluginSource('kafka', 'kafka-v3'));
      await watch!.waitFor(/INFO plugin healthy plugin=kafka/, 120_000, from);
      expect(await get(19182)).toBe('kafka core=core-v2 plugin=kafka-v3');
    },
    STEP_TIMEOUT,
  );

  it(
    'a plugin created while watching is picked up after a graph refresh, built and started',
    async () => {
      const from = watch!.output().length;
      writePlugin(LATE);
      await watch!.waitFor(/INFO project added plugin=mysql path=plugins\/mysql/, 60_000, from);
      await watch!.waitFor(/INFO plugin healthy plugin=mysql/, 180_000, from);
      expect(await get(LATE.port)).toBe('mysql core=core-v2 plugin=mysql-v1');
      expect(linesAfter(watch!, from, /INFO building plugin/)).toEqual([expect.stringContaining('plugin=mysql')]);
    },
    STEP_TIMEOUT,
  );

  it(
    'Ctrl-C during a build exits cleanly within seconds, leaving no podman process and the containers running',
    async () => {
      const from = watch!.output().length;
      workspace.write('plugins/redis/main.go', pluginSource('redis', 'redis-v3'));
      await watch!.waitFor(/INFO building plugin plugin=redis/, 60_000, from);
      const pid = watch!.child.pid!;
      // The podman build child is running (it starts right after the log line).
      for (let i = 0; i < 50 && podmanProcesses(pid, workspace.root).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(podmanProcesses(pid, workspace.root).length).toBeGreaterThan(0);
      const sent = Date.now();
      // Ctrl-C in a terminal signals the whole foreground process group. (Nx then mutes its piped output, so the
      // executor's own "INFO stopped" line is not visible here; on a terminal it is.)
      process.kill(-pid, 'SIGINT');
      const code = await watch!.stop('SIGINT');
      timings.sigintToExit = Date.now() - sent;
      expect([0, 130]).toContain(code);
      expect(podmanProcesses(pid, workspace.root)).toEqual([]);
      // Containers keep running without stopOnExit.
      expect(await get(19181)).toMatch(/^postgres core=core-v2/);
      watch = undefined;
    },
    STEP_TIMEOUT,
  );
});
