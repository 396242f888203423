import type { LiveUpdateHints } from '../../core/live-update-recipe';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { defaultTags, expandTokens, type BuildPullPolicy, type TokenValues } from '../../core/build-args';
import type { PodmanConnection } from '../../core/podman-version';
import type { PodmanBuildExecutorSchema } from './schema';
import { definedOnly, isStageName, STAGE_NAME_EXPECTED, type TargetOverrides } from '../../core/stage-name';

/** podman-build options after defaults, validation and token expansion: no optional fields, frozen. */
export interface NormalizedPodmanBuildOptions {
  readonly projectName: string;
  /** Workspace-relative project root. */
  readonly projectRoot: string;
  /** Absolute workspace root (where build records live). */
  readonly workspaceRoot: string;
  /** Absolute Containerfile path (it may not exist: {@link runPodmanBuild} reports that before building). */
  readonly file: string;
  /** Absolute build context directory. */
  readonly context: string;
  readonly stage: string;
  /** Tags with `{projectName}`, `{stage}` and `{env.NAME}` expanded; `{shortCommitSha}` is expanded at build time. */
  readonly tags: readonly string[];
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** Undefined: podman's default (no `--pull` flag). */
  readonly pull: BuildPullPolicy | undefined;
  readonly noCache: boolean;
  readonly platforms: readonly string[];
  readonly push: boolean;
  readonly pushDestination: string | undefined;
  readonly extraArgs: readonly string[];
  /** Rebuild even when an image with the same input hash exists. */
  readonly force: boolean;
  /** Keep podman's output to the failure tail instead of streaming it through `logger.output`. */
  readonly quiet: boolean;
  readonly connection: PodmanConnection;
  /** What watch-reload's live update cannot infer from the Containerfile (read by watch-reload only). */
  readonly liveUpdate: LiveUpdateHints | undefined;
  /** Repository of the registry cache (`host[:port]/path`, no tag); undefined: off. */
  readonly registryCache: string | undefined;
  /** The environment podman runs with: Go's module settings (GOPROXY, ...) are read from it. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** What normalization needs to know about the project being built. */
export interface PodmanBuildContext {
  projectName: string;
  /** Workspace-relative project root. */
  projectRoot: string;
  workspaceRoot: string;
  /** Environment for `{env.NAME}` tokens. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Already validated values set over the options (watch-reload's stage and connection). */
  overrides?: TargetOverrides;
}

/** Defaults of the options (schema.json's `default`s must equal these: a test checks). */
export const PODMAN_BUILD_DEFAULTS = Object.freeze({
  stage: 'production',
  buildArgs: Object.freeze({}),
  labels: Object.freeze({}),
  noCache: false,
  platforms: Object.freeze([]),
  push: false,
  registryCache: false,
  extraArgs: Object.freeze([]),
  force: false,
  quiet: false,
  podman: 'podman',
  remote: false,
});

/** Invalid podman-build options; the message names the option, the value and the fix. */
export class PodmanBuildOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PodmanBuildOptionsError';
  }
}

const PULL_POLICIES: readonly BuildPullPolicy[] = ['always', 'missing', 'never', 'newer'];
const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;
// [host[:port]/]path[:tag]: podman rejects upper case in the repository path.
const TAG = /^([A-Za-z0-9.-]+(:[0-9]+)?\/)?[a-z0-9]+([._-]+[a-z0-9]+)*(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;

function fail(option: string, value: unknown, expected: string): never {
  throw new PodmanBuildOptionsError(`Invalid podman-build option "${option}": expected ${expected}, received ${JSON.stringify(value)}.`);
}

function optionalString(options: Record<string, unknown>, name: string): string | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') fail(name, value, 'a non-empty string');
  return value;
}

function optionalBoolean(options: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(name, value, 'true or false');
  return value;
}

function stringArray(options: Record<string, unknown>, name: string): string[] | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    fail(name, value, `an array of strings${name === 'extraArgs' ? ' (one argument per item, e.g. ["--squash"])' : ''}`);
  }
  return value as string[];
}

const LIVE_UPDATE_KEYS = ['builderStage', 'artifact', 'destination', 'command'] as const;

function liveUpdateHints(options: Record<string, unknown>): LiveUpdateHints | undefined {
  const value = options.liveUpdate;
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('liveUpdate', value, `an object with any of ${LIVE_UPDATE_KEYS.join(', ')}`);
  const hints: Record<string, string> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (!(LIVE_UPDATE_KEYS as readonly string[]).includes(key)) fail(`liveUpdate.${key}`, item, `one of the keys ${LIVE_UPDATE_KEYS.join(', ')}`);
    if (typeof item !== 'string' || item.trim() === '') fail(`liveUpdate.${key}`, item, 'a non-empty string');
    if ((key === 'artifact' || key === 'destination') && !item.startsWith('/'))
      fail(`liveUpdate.${key}`, item, 'an absolute path in the image, e.g. /out/plugin');
    hints[key] = item;
  }
  return Object.freeze(hints) as LiveUpdateHints;
}

function stringMap(options: Record<string, unknown>, name: string): Record<string, string> {
  const value = options[name];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(name, value, 'an object of name/value strings');
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') fail(`${name}.${key}`, item, 'a string');
  }
  return value as Record<string, string>;
}

// host[:port] (with a dot, a port or "localhost", as podman tells a registry from a namespace), then lower-case path components.
const REGISTRY_REPOSITORY = /^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|[A-Za-z0-9.-]+:[0-9]+)(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)+$/;

/** The `registryCache` option as a repository, or undefined when off. */
function registryCacheRepository(value: unknown, tags: readonly string[], tokens: TokenValues, platforms: readonly string[]): string | undefined {
  if (value === undefined || value === false) return undefined;
  // The cache holds single-platform images: `true` (the inferred ci configuration's) leaves a manifest list build alone.
  if (value === true && platforms.length > 1) return undefined;
  const expected = 'true, false, or a registry repository such as "registry.internal:5000/prism/{projectName}-plugin"';
  let repository: string;
  if (value === true) {
    const withRegistry = tags.map((tag) => tag.replace(/(@.*|:[^:/]*)$/, '')).find((name) => REGISTRY_REPOSITORY.test(name) && !name.startsWith('localhost/'));
    if (withRegistry === undefined)
      fail(
        'registryCache',
        value,
        `${expected}; true needs a tag that names a registry (e.g. "registry.internal:5000/prism/{projectName}-plugin:latest"), and no tag does`,
      );
    repository = withRegistry;
  } else if (typeof value === 'string' && value.trim() !== '') {
    repository = expandTokens(value.trim(), tokens, 'registryCache');
    if (!REGISTRY_REPOSITORY.test(repository)) fail('registryCache', value, `${expected} (a registry host, then a lower-case path, no tag)`);
  } else {
    return fail('registryCache', value, expected);
  }
  if (platforms.length > 1)
    fail('registryCache', value, `false or true with several "platforms" (the cache holds single-platform images; true leaves a manifest list build alone)`);
  return repository;
}

/** `dir:out/x` and the like are relative to the workspace root, not to wherever podman happens to run. */
function resolveLocalTransport(workspaceRoot: string, destination: string): string {
  const match = destination.match(/^(dir|oci|oci-archive|docker-archive):(.+)$/);
  return match ? `${match[1]}:${absolute(workspaceRoot, match[2])}` : destination;
}

function absolute(workspaceRoot: string, path: string): string {
  return isAbsolute(path) ? path : resolve(workspaceRoot, path);
}

/**
 * Applies defaults, validates and expands tokens. Throws {@link PodmanBuildOptionsError} (or a `TokenError`) naming the
 * option. Only looks at the file system to pick the default Containerfile (`Containerfile`, else `Dockerfile`).
 */
export function normalizePodmanBuildOptions(options: PodmanBuildExecutorSchema, ctx: PodmanBuildContext): NormalizedPodmanBuildOptions {
  const raw = { ...((options ?? {}) as Record<string, unknown>), ...definedOnly(ctx.overrides) };
  const env = ctx.env ?? process.env;
  const stage = ctx.overrides?.stage ?? optionalString(raw, 'stage') ?? PODMAN_BUILD_DEFAULTS.stage;
  if (!isStageName(stage)) fail('stage', stage, STAGE_NAME_EXPECTED);
  const tokens: TokenValues = { projectName: ctx.projectName, stage, env };

  const projectDir = absolute(ctx.workspaceRoot, ctx.projectRoot);
  const fileOption = optionalString(raw, 'file');
  const file = fileOption
    ? absolute(ctx.workspaceRoot, fileOption)
    : (['Containerfile', 'Dockerfile'].map((name) => join(projectDir, name)).find((path) => existsSync(path)) ?? join(projectDir, 'Containerfile'));
  const contextOption = optionalString(raw, 'context');
  const context = contextOption ? absolute(ctx.workspaceRoot, contextOption) : projectDir;

  const tagOption = stringArray(raw, 'tags');
  if (tagOption && tagOption.length === 0) fail('tags', tagOption, 'at least one tag (leave "tags" out for the default prism/<project>-plugin:<stage>)');
  const tags = (tagOption ?? defaultTags(ctx.projectName, stage)).map((tag, index) => {
    const expanded = expandTokens(tag, tokens, `tags[${index}]`);
    if (!TAG.test(expanded.replaceAll('{shortCommitSha}', 'abc1234'))) {
      fail(`tags[${index}]`, expanded, 'an image name like "prism/postgres-plugin:v1" (lower-case repository, tag of letters, digits, "_", "." or "-")');
    }
    return expanded;
  });

  const buildArgs = Object.fromEntries(
    Object.entries(stringMap(raw, 'buildArgs')).map(([name, value]) => {
      if (!BUILD_ARG_NAME.test(name)) fail(`buildArgs.${name}`, name, 'a build arg name (letters, digits and "_")');
      return [name, expandTokens(value, tokens, `buildArgs.${name}`)];
    }),
  );
  const labels = Object.fromEntries(Object.entries(stringMap(raw, 'labels')).map(([name, value]) => [name, expandTokens(value, tokens, `labels.${name}`)]));

  const pull = optionalString(raw, 'pull') as BuildPullPolicy | undefined;
  if (pull !== undefined && !PULL_POLICIES.includes(pull)) fail('pull', pull, `one of ${PULL_POLICIES.join(', ')}`);

  const platforms = stringArray(raw, 'platforms') ?? [];
  platforms.forEach((platform, index) => {
    if (!PLATFORM.test(platform)) fail(`platforms[${index}]`, platform, 'os/arch[/variant], e.g. "linux/amd64" or "linux/arm64/v8"');
  });
  if (new Set(platforms).size !== platforms.length) fail('platforms', platforms, 'each platform once');

  const pushDestinationOption = optionalString(raw, 'pushDestination');
  const pushDestination = pushDestinationOption
    ? resolveLocalTransport(ctx.workspaceRoot, expandTokens(pushDestinationOption, tokens, 'pushDestination'))
    : undefined;
  const push = optionalBoolean(raw, 'push', PODMAN_BUILD_DEFAULTS.push);
  if (pushDestination && !push) fail('push', raw.push, 'true when "pushDestination" is set (or remove "pushDestination")');

  const registryCache = registryCacheRepository(raw.registryCache, tags, tokens, platforms);

  const podman = optionalString(raw, 'podman') ?? PODMAN_BUILD_DEFAULTS.podman;
  const connectionName = optionalString(raw, 'connection');

  return Object.freeze({
    projectName: ctx.projectName,
    projectRoot: ctx.projectRoot,
    workspaceRoot: ctx.workspaceRoot,
    file,
    context,
    stage,
    tags: Object.freeze(tags),
    buildArgs: Object.freeze(buildArgs),
    labels: Object.freeze(labels),
    pull,
    noCache: optionalBoolean(raw, 'noCache', PODMAN_BUILD_DEFAULTS.noCache),
    platforms: Object.freeze([...platforms]),
    push,
    pushDestination,
    extraArgs: Object.freeze([...(stringArray(raw, 'extraArgs') ?? [])]),
    force: optionalBoolean(raw, 'force', PODMAN_BUILD_DEFAULTS.force),
    quiet: optionalBoolean(raw, 'quiet', PODMAN_BUILD_DEFAULTS.quiet),
    connection: Object.freeze({
      podman,
      remote: optionalBoolean(raw, 'remote', PODMAN_BUILD_DEFAULTS.remote) || connectionName !== undefined,
      connection: connectionName,
    }),
    liveUpdate: liveUpdateHints(raw),
    registryCache,
    env,
  });
}
