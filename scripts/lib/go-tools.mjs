// Go command-line tools the demo and the tests use as clients, built from their modules through the Go module proxy
// into <repo>/tmp/go-bin (not the user's GOPATH), once per version: grpcurl, the real gRPC client users call plugins with.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST_GO } from './base-images.mjs';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GRPCURL = { module: 'github.com/fullstorydev/grpcurl/cmd/grpcurl', version: 'v1.9.4', name: 'grpcurl' };
/** Delve's own terminal client (`dlv connect`), the debugger the debug-session e2e test and the bench attach with (the version the generator builds). */
export const DLV = { module: 'github.com/go-delve/delve/cmd/dlv', version: 'v1.27.2', name: 'dlv' };

/** The path of `tool` (built on first use with `go install module@version`); throws with go's output when that fails. */
export function ensureGoTool(tool, log = console.log) {
  const dir = join(REPO_ROOT, 'tmp', 'go-bin', tool.version);
  const binary = join(dir, tool.name);
  if (existsSync(binary)) return binary;
  if (!HOST_GO.go) throw new Error(`Go is needed to build ${tool.name}: install Go (https://go.dev/dl) or apt-get install -y golang-go`);
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const result = spawnSync(HOST_GO.go, ['install', `${tool.module}@${tool.version}`], {
    encoding: 'utf8',
    env: { ...process.env, GOBIN: dir, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '' },
  });
  if (result.status !== 0) {
    throw new Error(`go install ${tool.module}@${tool.version} failed (exit ${result.status}); it needs the Go module proxy (GOPROXY):\n${result.stderr}`);
  }
  log(`go tools: built ${tool.name} ${tool.version} in ${((Date.now() - started) / 1000).toFixed(1)} s (${binary})`);
  return binary;
}

/** grpcurl's path (built on first use). */
export const ensureGrpcurl = (log) => ensureGoTool(GRPCURL, log);
/** dlv's path (built on first use). */
export const ensureDlv = (log) => ensureGoTool(DLV, log);

/**
 * Runs grpcurl -plaintext against 127.0.0.1:port: `method` (e.g. `prism.plugin.v1.Plugin/Info`), or `list`.
 * Returns { code, stdout, stderr }; never throws.
 */
export function grpcurl(port, method, { timeoutSeconds = 5, data } = {}) {
  const args = [
    '-plaintext',
    '-max-time',
    String(timeoutSeconds),
    ...(data === undefined ? [] : ['-d', JSON.stringify(data)]),
    `127.0.0.1:${port}`,
    ...(method === 'list' ? ['list'] : [method]),
  ];
  const result = spawnSync(ensureGrpcurl(), args, { encoding: 'utf8', timeout: (timeoutSeconds + 5) * 1000 });
  return { code: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
}
