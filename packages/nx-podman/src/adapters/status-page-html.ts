import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The page's styles and script, kept in status-page/ where the linter, Prettier and a jsdom test see them. */
const STYLE = readFileSync(join(__dirname, 'status-page', 'page.css'), 'utf8');
const SCRIPT = readFileSync(join(__dirname, 'status-page', 'page.js'), 'utf8');

/**
 * The status page: one HTML document with its style and script inline (no build step, no CDN, nothing fetched but
 * the event stream and the actions). `nonce` is the Content-Security-Policy nonce of this response.
 */
export function renderStatusPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nx-podman watch-reload</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
  <h1>nx-podman <span class="muted">watch-reload</span></h1>
  <span id="meta" class="muted"></span>
  <span id="connection" class="connection" data-connected="false">connecting…</span>
</header>
<main id="projects"></main>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
