// The status page's script: a browser script, served inline with the page's CSP nonce (see status-page-html.ts). It
// builds the DOM with textContent only: file names and compiler output can hold any characters.
'use strict';
const token = new URLSearchParams(location.search).get('token') || '';
const main = document.getElementById('projects');
const connection = document.getElementById('connection');
const meta = document.getElementById('meta');
/** Why pending changes are not being built yet (the watch state's waitingFor). */
const WAITS = {
  debounce: 'the change set to close (debounce)',
  slot: 'a free build slot (concurrency)',
  paused: 'resume',
  'job running': 'the running job to end',
};
const LABELS = {
  idle: 'idle',
  pending: 'changes pending',
  building: 'building',
  'live-updating': 'live updating',
  reloading: 'reloading',
  healthy: 'healthy',
  failed: 'failed',
};
let snapshot;
let offset = 0;

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined) continue;
    if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-') || key === 'class' || key === 'href' || key === 'target' || key === 'rel' || key === 'title')
      node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child);
  return node;
}
const seconds = (ms) => (ms === undefined ? '–' : (ms / 1000).toFixed(1) + ' s');
const watcherNow = () => Date.now() - offset;
const ago = (at) => {
  const s = Math.max(0, Math.round((watcherNow() - at) / 1000));
  return s < 60 ? s + ' s' : s < 3600 ? Math.floor(s / 60) + ' min ' + (s % 60) + ' s' : Math.floor(s / 3600) + ' h';
};
const clockTime = (at) => new Date(Date.now() - (watcherNow() - at)).toLocaleTimeString();
const shortId = (id) => (id ? id.replace(/^sha256:/, '').slice(0, 12) : undefined);
const trigger = (run) => (run.files.length ? run.files.join(', ') : run.reason || '–');
const shortTrigger = (run) =>
  run.files.length ? run.files[0].split('/').pop() + (run.files.length > 1 ? ' +' + (run.files.length - 1) : '') : run.reason || '–';
const pathText = (run) =>
  run.path === 'live'
    ? 'live update'
    : run.path === 'full'
      ? 'image build' + (run.fallbackReason && run.fallbackReason !== run.reason ? ' (' + run.fallbackReason + ')' : '')
      : 'no build';

async function act(project, action) {
  const response = await fetch('/api/projects/' + encodeURIComponent(project) + '/' + action, { method: 'POST', headers: { 'X-Status-Token': token } });
  if (!response.ok) alert(await response.text());
}

function card(project) {
  const last = project.history[0];
  const current = project.current;
  const badge = el('span', { class: 'badge', 'data-state': project.state, 'data-field': 'state', text: LABELS[project.state] || project.state });
  const since = el('span', {
    class: 'since',
    'data-since': String(project.since),
    title: 'since ' + clockTime(project.since),
    text: 'for ' + ago(project.since),
  });
  const countdown = project.pendingUntil !== undefined ? el('span', { class: 'since', 'data-countdown': String(project.pendingUntil) }) : undefined;
  const actions = el(
    'span',
    { class: 'actions' },
    el('button', {
      'data-action': 'build',
      title: 'Build the pending changes now, or build with none pending',
      text: 'Build now',
      onclick: () => act(project.name, 'build'),
    }),
    el('button', {
      'data-action': 'rebuild',
      title: 'Image build and container replacement (no live update)',
      text: 'Full rebuild',
      onclick: () => act(project.name, 'rebuild'),
    }),
    project.paused
      ? el('button', { 'data-action': 'resume', text: 'Resume', onclick: () => act(project.name, 'resume') })
      : el('button', { 'data-action': 'pause', text: 'Pause', onclick: () => act(project.name, 'pause') }),
  );
  const rows = [];
  const row = (label, value, field) => {
    if (value !== undefined && value !== null && value !== '') rows.push(el('dt', { text: label }), el('dd', { 'data-field': field }, value));
  };
  if (project.paused) row('paused', project.heldFiles.length + ' change(s) held: ' + (project.heldFiles.join(', ') || 'none yet'), 'held');
  if (project.pendingFiles.length) row('pending', project.pendingFiles.join(', '), 'pending');
  if (project.waitingFor) row('waiting for', WAITS[project.waitingFor] || project.waitingFor, 'waiting');
  if (current) {
    row(
      'now',
      (current.phase === 'live' ? 'compiling (live update)' : current.phase === 'reload' ? 'restarting the container' : 'building the image') +
        ' since ' +
        ago(current.startedAt),
      'current',
    );
    row('triggered by', current.files.length ? current.files.join(', ') : current.reason || '–', 'current-trigger');
  }
  if (last) {
    row('last run', clockTime(last.endedAt) + ' · ' + last.result + (last.detail ? ' · ' + last.detail : ''), 'last-result');
    row('triggered by', trigger(last), 'last-trigger');
    row('path', pathText(last), 'last-path');
    row(
      'durations',
      (last.path === 'live' ? 'compile ' : 'build ') +
        seconds(last.buildMs) +
        (last.reloadMs !== undefined ? ' · ' + (last.path === 'live' ? 'restart ' : 'replace ') + seconds(last.reloadMs) : '') +
        (last.saveToHealthyMs !== undefined ? ' · save → healthy ' + seconds(last.saveToHealthyMs) : ''),
      'last-durations',
    );
    if (last.healthy !== undefined) row('health', last.healthy ? 'healthy' : 'not checked', 'health');
  }
  row('image', project.imageId ? el('code', { text: shortId(project.imageId) + (project.liveUpdated ? ' + live-updated binary' : '') }) : undefined, 'image');
  if (project.container) {
    const links = project.container.ports.map((port) =>
      port.url ? el('a', { href: port.url, target: '_blank', rel: 'noopener noreferrer', text: port.text }) : el('code', { text: port.text }),
    );
    row(
      'container',
      el(
        'span',
        {},
        el('code', { text: project.container.name }),
        links.length ? ' · ' : '',
        links.map((link, i) => (i ? [', ', link] : link)),
      ),
      'container',
    );
  }
  if (project.hold) {
    const hold = project.hold;
    row(
      'held',
      (hold.holding ? 'holding: ' + hold.held + ' waiting' : hold.held + ' waiting') +
        ' · longest wait ' +
        seconds(hold.longestWaitMs) +
        (hold.dropped ? ' · ' + hold.dropped + ' closed unserved' : ''),
      'hold',
    );
  }
  // The last run's failure, open; else the last failure of the history, folded.
  const failedRun = project.history.find((run) => run.failure);
  const lastFailed = last && last.failure ? last : undefined;
  const output = failedRun
    ? el(
        'details',
        { class: lastFailed ? undefined : 'earlier', open: lastFailed !== undefined, 'data-field': lastFailed ? 'failure' : 'earlier-failure' },
        el('summary', {
          text: (lastFailed ? '' : 'last failure, ' + clockTime(failedRun.endedAt) + ': ') + failedRun.failure.step + ' failed: ' + failedRun.failure.message,
        }),
        failedRun.failure.output
          ? el('pre', { 'data-field': lastFailed ? 'failure-output' : 'earlier-failure-output', text: failedRun.failure.output })
          : undefined,
      )
    : undefined;
  const history = project.history.length
    ? el(
        'details',
        { 'data-field': 'history' },
        el('summary', { class: 'muted', text: 'last ' + project.history.length + ' run(s)' }),
        el(
          'table',
          {},
          el(
            'tr',
            {},
            ['time', 'trigger', 'path', 'result', 'build', 'reload', 'save → healthy'].map((h) => el('th', { text: h })),
          ),
          project.history.map((run) =>
            el(
              'tr',
              {},
              el('td', { text: clockTime(run.startedAt) }),
              el('td', { class: 'files', title: trigger(run), text: shortTrigger(run) }),
              el('td', { text: run.path }),
              el('td', { class: 'result-' + run.result, text: run.result }),
              el('td', { text: seconds(run.buildMs) }),
              el('td', { text: seconds(run.reloadMs) }),
              el('td', { text: seconds(run.saveToHealthyMs) }),
            ),
          ),
        ),
      )
    : undefined;
  return el(
    'section',
    { class: 'card', 'data-project': project.name, 'data-state': project.state },
    el(
      'div',
      { class: 'top' },
      el('span', { class: 'name', text: project.name }),
      badge,
      project.paused ? el('span', { class: 'paused', text: 'paused' }) : undefined,
      since,
      countdown,
      actions,
    ),
    el('dl', {}, rows),
    output,
    history,
  );
}

function render() {
  if (!snapshot) return;
  const open = new Set(
    [...document.querySelectorAll('[data-project] details[data-field="history"][open]')].map((d) => d.closest('[data-project]').dataset.project),
  );
  meta.textContent = 'stage ' + snapshot.stage + (snapshot.reload ? ' · reload' : '') + ' · ' + snapshot.projects.length + ' project(s)';
  main.replaceChildren(...(snapshot.projects.length ? snapshot.projects.map(card) : [el('p', { class: 'empty', text: 'No project to build.' })]));
  for (const name of open) {
    const d = document.querySelector('[data-project="' + CSS.escape(name) + '"] details[data-field="history"]');
    if (d) d.open = true;
  }
  tick();
}

function tick() {
  for (const node of document.querySelectorAll('[data-since]')) node.textContent = 'for ' + ago(Number(node.dataset.since));
  for (const node of document.querySelectorAll('[data-countdown]')) {
    const left = Number(node.dataset.countdown) - watcherNow();
    node.textContent = left > 0 ? '· building in ' + (left / 1000).toFixed(1) + ' s' : '· waiting for a build slot';
  }
}

function connect() {
  const source = new EventSource('/events?token=' + encodeURIComponent(token));
  source.addEventListener('status', (event) => {
    snapshot = JSON.parse(event.data);
    offset = Date.now() - snapshot.now;
    connection.dataset.connected = 'true';
    connection.textContent = 'live';
    render();
  });
  source.onerror = () => {
    connection.dataset.connected = 'false';
    connection.textContent = 'reconnecting… (is the watcher still running?)';
  };
}
connect();
setInterval(tick, 200);
