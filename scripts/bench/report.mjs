// Statistics, the Markdown results section and the SVG latency plot, all from the raw results object.
import { GO_BUILDER_IMAGE } from '../lib/base-images.mjs';

/** Nearest-rank percentile (p in 0..100) of numbers; undefined for none. */
export function percentile(values, p) {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}
export const median = (values) => {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const ms = (value) => (value === undefined ? 'n/a' : `${Math.round(value)} ms`);
const s = (value) => (value === undefined ? 'n/a' : `${(value / 1000).toFixed(1)} s`);
const sum = (values) => values.reduce((a, b) => a + b, 0);
const s2 = (value) => (value === undefined ? 'n/a' : `${(value / 1000).toFixed(2)} s`);
const list = (values, fmt = (v) => Math.round(v)) => (values.length ? values.map(fmt).join(', ') : '(none)');

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

/** The results section of docs/benchmarks.md. */
export function renderMarkdown(results) {
  const out = [];
  const { machine, options } = results;
  out.push(
    `Run ${results.startedAt} (${results.mode}${options.skipped.length ? `; skipped: ${options.skipped.join(', ')}` : ''}), total ${s(results.durationMs)}.`,
  );
  out.push('');
  out.push(
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memGiB} GiB, load average at start ${machine.loadStart} / at end ${machine.loadEnd ?? 'n/a'}, ${machine.os}, Node ${machine.node}, nx ${machine.nx}, ${machine.podman}.`,
  );
  out.push('');

  const tools = results.tools;
  if (results.latency?.length) {
    out.push('### 1. Save → build start (stub podman)');
    out.push('');
    out.push(
      `A content change to one plugin's main.go, one at a time (${options.trials} trials per watch-reload row, ${options.nxTrials} for nx watch); "build start" is when the watcher forked \`podman build\` (the stub's process start time). For watch-reload, "above debounce" subtracts the configured debounce.`,
    );
    out.push('');
    out.push(
      table(
        ['watcher', 'debounce', 'median', 'p95', 'median above debounce', 'p95 above debounce', 'missed'],
        results.latency.map((row) => [
          tools[row.tool].label,
          row.debounce === undefined ? '(none)' : `${row.debounce} ms`,
          ms(median(row.latencies)),
          ms(percentile(row.latencies, 95)),
          row.debounce === undefined ? '—' : ms(median(row.latencies.map((v) => v - row.debounce))),
          row.debounce === undefined
            ? '—'
            : ms(
                percentile(
                  row.latencies.map((v) => v - row.debounce),
                  95,
                ),
              ),
          `${row.missed}`,
        ]),
      ),
    );
    out.push('');
    out.push('![save to build start latency](benchmarks-latency.svg)');
    out.push('');
  }
  if (results.storms?.length) {
    out.push('### 2. Event storms: builds started (ideal: one per affected image)');
    out.push('');
    out.push(
      '200 Go files written within 1 s (each build takes 0.5 s in the stub). watch-reload at its default debounce, 1000 ms. Ideal: alpha 1 build; core or core + plugins: 1 build of each plugin (core has no image).',
    );
    out.push('');
    out.push(
      table(
        ['watcher', 'storm', 'files written in', 'builds started', 'per plugin (alpha/beta/gamma)', 'ideal', 'affected plugins never built'],
        results.storms.map((row) => [
          tools[row.tool].label,
          row.name,
          ms(row.writeMs),
          `${row.builds}`,
          `${row.perProject.alpha}/${row.perProject.beta}/${row.perProject.gamma}`,
          `${row.ideal}`,
          row.missing.length ? row.missing.join(', ') : '0',
        ]),
      ),
    );
    out.push('');
  }
  if (results.busy?.length) {
    out.push('### 3. A change during a build (stub build: 3 s)');
    out.push('');
    out.push(
      'Save alpha; once its build starts, save alpha again 1 s into it, or 0.2 s before it ends. watch-reload at debounce 100 ms. Summed over the trials. "lost" = no build that completed started after the second save.',
    );
    out.push('');
    out.push(
      table(
        ['watcher', 'second save', 'trials', 'builds started', 'builds killed', 'same-project overlaps', 'changes lost'],
        results.busy.map((row) => [
          tools[row.tool].label,
          row.name,
          `${row.trials.length}`,
          `${sum(row.trials.map((t) => t.builds))} (${list(row.trials.map((t) => t.builds))})`,
          `${sum(row.trials.map((t) => t.killed))}`,
          `${sum(row.trials.map((t) => t.overlaps))}`,
          `${sum(row.trials.map((t) => t.lost))}`,
        ]),
      ),
    );
    out.push('');
  }
  if (results.idle?.length) {
    out.push(`### 4. Idle cost on the 4-project workspace`);
    out.push('');
    out.push(
      'CPU of the whole watcher process tree (for nx watch: the client and the Nx daemon) while nothing changes; peak RSS over the whole session of that watcher (storms included); inotify watches held (from /proc/<pid>/fdinfo).',
    );
    out.push('');
    out.push(
      table(
        ['watcher', 'idle window', 'CPU (% of one core)', 'processes', 'peak RSS (tree)', 'inotify watches', 'inotify instances'],
        results.idle.map((row) => [
          tools[row.tool].label,
          `${Math.round(row.seconds)} s`,
          `${row.cpuPercent.toFixed(2)} %`,
          `${row.processes}`,
          `${Math.round(row.peakRssMiB)} MiB`,
          `${row.inotify.watches}`,
          `${row.inotify.instances}`,
        ]),
      ),
    );
    out.push('');
  }
  if (results.startup?.length) {
    out.push('### 5. Start-up to `watcher ready` (watch-reload)');
    out.push('');
    out.push('From spawning `nx run bench:watch-reload` (no Nx daemon: the project graph is computed in that process) to the `INFO watcher ready` line.');
    out.push('');
    out.push(
      table(
        ['workspace', 'trials', 'median', 'p95', 'raw (ms)', 'inotify watches at ready', 'peak RSS'],
        results.startup.map((row) => [
          row.name,
          `${row.samples.length}`,
          s(median(row.samples)),
          s(percentile(row.samples, 95)),
          list(row.samples),
          `${row.inotify?.watches ?? 'n/a'}`,
          `${Math.round(row.peakRssMiB)} MiB`,
        ]),
      ),
    );
    out.push('');
  }
  if (results.real?.length) {
    out.push('### 6. Real podman + Go: save → new container healthy (warm cache)');
    out.push('');
    out.push(
      `Workspace from the plugin generator: core + 3 plugins (\`--protocol=http\`), builder ${GO_BUILDER_IMAGE} (the machine's Go) with a Go build-cache mount, production FROM scratch, HTTP /healthz health check. watch-reload with reload, debounce 100 ms. Plugin edit: its greeting string; core edit: core.Version (all three rebuild and restart). Path \`full\`: image build + container replace (\`liveUpdate: off\`); \`live\`: compile in the warm builder, the binary into the container (replaced in its root file system, or \`podman cp\`), restart (\`liveUpdate: auto\`, measured after the builder warmed its cache). "First job line" is when the \`building plugin\` / \`live update\` line reached the harness.`,
    );
    out.push('');
    out.push(
      table(
        [
          'path',
          'holdRequests',
          'concurrency',
          'edit',
          'trials',
          'save → first job line (median)',
          'job start → first process (median, max)',
          'save → healthy median',
          'p95',
          'raw (s)',
          'initial build + run of 3',
          'problems',
        ],
        results.real.flatMap((row) => [
          [
            row.path ?? 'full',
            row.hold === false ? 'off' : 'on',
            `${row.concurrency}`,
            'plugin file → that plugin healthy',
            `${row.plugin.length}`,
            ms(median(row.pluginBuildStart)),
            row.firstProcess?.length ? `${ms(median(row.firstProcess))}, ${ms(Math.max(...row.firstProcess))}` : 'n/a',
            s(median(row.plugin)),
            s(percentile(row.plugin, 95)),
            list(row.plugin, (v) => (v / 1000).toFixed(1)),
            s(row.initialMs),
            row.errors.join('; ') || 'none',
          ],
          [
            row.path ?? 'full',
            row.hold === false ? 'off' : 'on',
            `${row.concurrency}`,
            'core file → all 3 healthy',
            `${row.core.length}`,
            ms(median(row.coreBuildStart)),
            '',
            s(median(row.core)),
            s(percentile(row.core, 95)),
            list(row.core, (v) => (v / 1000).toFixed(1)),
            '',
            '',
          ],
        ]),
      ),
    );
    out.push('');
    const loaded = results.real.filter((row) => row.load);
    if (loaded.length) {
      out.push(
        'Clients during the trials above: one per plugin, `GET /` on a new connection every 50 ms through the published port. "Holds": live updates that held connections (`INFO serving ... held=N waited=...`); a blue/green replace holds nothing.',
      );
      out.push('');
      out.push(
        table(
          ['path', 'holdRequests', 'concurrency', 'requests', 'failed', 'slowest answer', 'holds', 'connections held', 'hold length (median, max)'],
          loaded.map((row) => [
            row.path ?? 'full',
            row.hold === false ? 'off' : 'on',
            `${row.concurrency}`,
            `${row.load.sent}`,
            `${row.load.failed}`,
            ms(row.load.slowestMs),
            `${row.holds?.count ?? 0}`,
            `${row.holds?.held ?? 0}`,
            row.holds?.waitedMs?.length ? `${ms(median(row.holds.waitedMs))}, ${ms(Math.max(...row.holds.waitedMs))}` : 'n/a',
          ]),
        ),
      );
      out.push('');
    }
  }
  if (results.holdOverhead?.length) {
    out.push('### 11. Holding requests: what the gate adds to each request');
    out.push('');
    out.push(
      'A Node HTTP server on 127.0.0.1, asked directly and through the gate of the packed plugin (`adapters/tcp-gate.js`, the code `holdRequests` runs), one request each way in turn, at the rate shown (both ways together), after 100 warm-up pairs.',
    );
    out.push('');
    const fixed = (value) => `${value.toFixed(2)} ms`;
    out.push(
      table(
        ['connection', 'requests/s', 'requests each way', 'direct p50', 'gated p50', 'added p50', 'direct p99', 'gated p99', 'added p99'],
        results.holdOverhead.map((row) => [
          row.connection,
          `${row.rate}`,
          `${row.count}`,
          fixed(row.direct.p50),
          fixed(row.gated.p50),
          fixed(row.addedP50),
          fixed(row.direct.p99),
          fixed(row.gated.p99),
          fixed(row.addedP99),
        ]),
      ),
    );
    out.push('');
  }
  if (results.store?.length) {
    out.push('### 8. The image store over a long session (real podman)');
    out.push('');
    out.push(
      'A busybox plugin (a build is one COPY), watch-reload without reload, debounce 100 ms, default keepImages (3). Save → build start with the store as it is, then with filler images added (unrelated, labelled), same watcher; next to it what the label search the up-to-date check made before it used the build record costs in that store. Then the store size after many saves.',
    );
    out.push('');
    out.push(
      table(
        ['store', 'save → build start (median)', 'raw (ms)', 'label search (old hot path)'],
        results.store.flatMap((row) => [
          [`${row.small.store?.all ?? '?'} images`, ms(row.small.saveToBuildStartMs), list(row.small.samples ?? []), ms(row.small.labelSearchMs)],
          [
            `${row.large.store?.all ?? '?'} images (+${row.images} fillers)`,
            ms(row.large.saveToBuildStartMs),
            list(row.large.samples ?? []),
            ms(row.large.labelSearchMs),
          ],
        ]),
      ),
    );
    out.push('');
    for (const row of results.store) {
      if (row.afterSaves)
        out.push(
          `After ${row.saves} saves: ${row.afterSaves.project} images of the project in the store (before: ${row.before.project}); the store held ${row.afterSaves.all} images.${row.errors.length ? ` Problems: ${row.errors.join('; ')}` : ''}`,
        );
      else out.push(`Store-size row not measured: ${row.errors.join('; ')}`);
    }
    out.push('');
  }
  if (results.agents?.length) {
    out.push('### 9. CI agents sharing builds through a registry (real podman, real Go, docker-registry)');
    out.push('');
    out.push(
      'The 3 generated plugins, `nx run-many -t podman-build -c ci` (push + registry cache, from the `registry` plugin option). Agent A: an empty podman storage (only the Go builder image loaded), a cold build. Agent B: another empty storage, same commit.',
    );
    out.push('');
    out.push(
      table(
        ['agent', 'plugins', 'time', '`podman build`s run', 'images from the registry cache', 'problems'],
        results.agents.flatMap((run) =>
          run.rows.map((row) => [
            row.agent,
            String(run.plugins),
            s(row.ms),
            String(row.builds),
            String(row.fromRegistry),
            row.problems.length ? row.problems.join('; ') : 'none',
          ]),
        ),
      ),
    );
    out.push('');
  }

  if (results.debug?.length) {
    out.push('### 10. The status page, and the debug stage under Delve (real podman, real Go, dlv)');
    out.push('');
    out.push(
      'One generated plugin, `watch-reload --reload --debounce=100`, greeting edits (each adds a function; live updates; the first edit of each row warms the builder and is not counted). With the page open, a client reads its event stream. Under Delve, "Delve lists it": a client connects to the published Delve port, halts the plugin, finds the edit\'s new function with `RPCServer.ListFunctions`, and lets it run on. "Stops at the breakpoint": one `dlv connect` session (Delve\'s own client, typed into) attached through every save with a breakpoint on the handler\'s first line; when the watcher has relaunched the plugin under Delve, dlv continues, a request is sent, and the time is when dlv prints the stop (the answer, once continued, carries the edit).',
    );
    out.push('');
    out.push(
      table(
        [
          'watcher',
          'save → healthy (median)',
          'raw',
          'save → Delve lists the new function',
          'save → the new code stops at the breakpoint',
          'status events per save',
          'problems',
        ],
        results.debug.flatMap((run) =>
          run.rows.map((row) => [
            row.label,
            row.saveToHealthy.length ? s2(median(row.saveToHealthy)) : '-',
            list(row.saveToHealthy, (v) => (v / 1000).toFixed(2)),
            row.saveToDelve.length ? `${s2(median(row.saveToDelve))} (${list(row.saveToDelve, (v) => (v / 1000).toFixed(2))})` : '-',
            row.saveToBreakpoint?.length ? `${s2(median(row.saveToBreakpoint))} (${list(row.saveToBreakpoint, (v) => (v / 1000).toFixed(2))})` : '-',
            row.eventsPerSave.length ? row.eventsPerSave.join(', ') : '-',
            row.errors.length ? row.errors.join('; ') : 'none',
          ]),
        ),
      ),
    );
    out.push('');
  }
  if (results.noop?.length) {
    out.push('### 7. A save with unchanged content (ideal: 0 builds)');
    out.push('');
    out.push(
      table(
        ['watcher', 'no-op saves', 'builds started', 'podman invocations (version, image ls, ...)'],
        results.noop.map((row) => [tools[row.tool].label, `${row.saves}`, `${row.builds}`, `${row.podmanCalls}`]),
      ),
    );
    out.push('');
  }
  if (results.notes?.length) {
    out.push('### Notes from this run');
    out.push('');
    for (const note of results.notes) out.push(`- ${note}`);
    out.push('');
  }
  out.push('<details><summary>Raw latencies (ms)</summary>');
  out.push('');
  for (const row of results.latency ?? []) out.push(`- ${tools[row.tool].label}, debounce ${row.debounce ?? 'none'}: ${list(row.latencies)}`);
  out.push('');
  out.push('</details>');
  return out.join('\n');
}

/** A hand-made SVG: one row per (watcher, debounce), a dot per trial, a bar at the median and a tick at p95. */
export function renderLatencySvg(results) {
  const rows = results.latency ?? [];
  const width = 860;
  const left = 300;
  const right = 30;
  const rowHeight = 34;
  const top = 40;
  const height = top + rows.length * rowHeight + 50;
  const max = Math.max(1000, ...rows.flatMap((row) => row.latencies));
  const niceMax = Math.ceil(max / 1000) * 1000;
  const x = (v) => left + ((width - left - right) * v) / niceMax;
  const esc = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">Save → podman build start (ms), stub podman, ${esc(results.startedAt)}</text>`);
  const step = niceMax <= 3000 ? 250 : niceMax <= 8000 ? 1000 : 2000;
  for (let v = 0; v <= niceMax; v += step) {
    parts.push(`<line x1="${x(v)}" y1="${top - 5}" x2="${x(v)}" y2="${top + rows.length * rowHeight}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(v)}" y="${top + rows.length * rowHeight + 16}" text-anchor="middle" fill="#555">${v}</text>`);
  }
  parts.push(
    `<text x="${(left + width - right) / 2}" y="${height - 10}" text-anchor="middle" fill="#555">milliseconds (dots: trials; bar: median; red tick: p95; dashed: debounce)</text>`,
  );
  rows.forEach((row, index) => {
    const y = top + index * rowHeight + rowHeight / 2;
    const label = `${results.tools[row.tool].label}${row.debounce === undefined ? '' : `, debounce ${row.debounce}`}`;
    parts.push(`<text x="${left - 10}" y="${y + 4}" text-anchor="end">${esc(label)}</text>`);
    if (row.debounce !== undefined)
      parts.push(`<line x1="${x(row.debounce)}" y1="${y - 12}" x2="${x(row.debounce)}" y2="${y + 12}" stroke="#888" stroke-dasharray="3,3"/>`);
    row.latencies.forEach((v, i) => {
      const jitter = ((i * 7) % 11) - 5;
      parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${(y + jitter).toFixed(1)}" r="3" fill="#3b6fb6" fill-opacity="0.55"/>`);
    });
    const med = median(row.latencies);
    const p95 = percentile(row.latencies, 95);
    if (med !== undefined) parts.push(`<line x1="${x(med)}" y1="${y - 11}" x2="${x(med)}" y2="${y + 11}" stroke="black" stroke-width="3"/>`);
    if (p95 !== undefined) parts.push(`<line x1="${x(p95)}" y1="${y - 8}" x2="${x(p95)}" y2="${y + 8}" stroke="#c0392b" stroke-width="2"/>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
