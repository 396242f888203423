import { isPodmanAtLeast, type PodmanVersion } from './podman-version';

/** `podman pull` policy for base images. */
export type BuildPullPolicy = 'always' | 'missing' | 'never' | 'newer';

/** Values the tokens `{projectName}`, `{stage}`, `{env.NAME}` and `{shortCommitSha}` expand to. */
export interface TokenValues {
  projectName: string;
  stage: string;
  env: Record<string, string | undefined>;
  /** Left unexpanded when undefined (resolved later, only when a value uses it: it needs git). */
  shortCommitSha?: string;
}

/** A token that cannot be expanded (unset env variable, no git commit). The message names the option and the fix. */
export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

const TOKEN = /\{(projectName|stage|shortCommitSha|env\.([A-Za-z_][A-Za-z0-9_]*))\}/g;

/** True when `text` uses `{shortCommitSha}`. */
export function usesCommitSha(text: string): boolean {
  return text.includes('{shortCommitSha}');
}

/**
 * Expands the tokens in one option value. `option` names the value in error messages (e.g. `tags[1]`).
 * Other braces are left alone, so JSON in a build arg survives.
 */
export function expandTokens(text: string, values: TokenValues, option: string): string {
  return text.replace(TOKEN, (whole, name: string, envName: string | undefined) => {
    if (envName !== undefined) {
      const value = values.env[envName];
      if (value === undefined) {
        throw new TokenError(
          `Option "${option}" ("${text}") uses {env.${envName}} but the environment variable ${envName} is not set. Set it (e.g. ${envName}=v1.0.0 nx run ${values.projectName}:podman-build) or remove the token.`,
        );
      }
      return value;
    }
    if (name === 'projectName') return values.projectName;
    if (name === 'stage') return values.stage;
    return values.shortCommitSha ?? whole;
  });
}

/** A project name as one image-name path component: lower case, `@scope/name` → `scope-name`. */
export function imageNameComponent(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'project'
  );
}

/** Default tags: `prism/<project>-plugin:<stage>`, plus `prism/<project>-plugin:latest` for production. */
export function defaultTags(projectName: string, stage: string): string[] {
  const repo = `prism/${imageNameComponent(projectName)}-plugin`;
  return stage === 'production' ? [`${repo}:${stage}`, `${repo}:latest`] : [`${repo}:${stage}`];
}

/**
 * The name podman stores for a tag: `prism/x` becomes `localhost/prism/x:latest` (podman puts names without a
 * registry under `localhost/`), `registry:5000/x:1` stays as it is.
 */
export function qualifyImageName(tag: string): string {
  const slash = tag.lastIndexOf('/');
  const withTag = tag.includes('@') || tag.slice(slash + 1).includes(':') ? tag : `${tag}:latest`;
  const first = withTag.split('/')[0];
  const hasRegistry = withTag.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return hasRegistry ? withTag : `localhost/${withTag}`;
}

/**
 * A git remote URL as an image label may show it: credentials (`https://user:token@host/...`) and query strings
 * dropped; scp-like `git@host:org/repo.git` written as `https://host/org/repo`. Undefined when it is not a URL.
 */
export function publicSourceUrl(remote: string): string | undefined {
  const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/.exec(remote);
  if (scp) return `https://${scp[1]}/${scp[2].replace(/\.git$/, '')}`;
  try {
    const url = new URL(remote);
    if (!['https:', 'http:', 'ssh:', 'git:'].includes(url.protocol) || !url.hostname) return undefined;
    const path = url.pathname.replace(/\.git$/, '');
    return url.protocol === 'http:' || url.protocol === 'https:' ? `${url.protocol}//${url.host}${path}` : `https://${url.hostname}${path}`;
  } catch {
    return undefined;
  }
}

/**
 * Labels the executor adds to every image; user labels are merged over them. They are not part of the input hash
 * (`created` changes on every build, `revision` on every commit).
 */
export function defaultLabels(input: {
  projectName: string;
  stage: string;
  inputHash: string;
  revision?: string;
  source?: string;
  created?: string;
}): Record<string, string> {
  const labels: Record<string, string> = {
    'org.opencontainers.image.title': input.projectName,
    'io.prism.nx-podman.project': input.projectName,
    'io.prism.nx-podman.stage': input.stage,
  };
  if (input.revision) labels['org.opencontainers.image.revision'] = input.revision;
  if (input.source) labels['org.opencontainers.image.source'] = input.source;
  if (input.created) labels['org.opencontainers.image.created'] = input.created;
  return labels;
}

/**
 * `BUILDPLATFORM` for a build with `platforms`, when the Containerfile uses it (`FROM --platform=$BUILDPLATFORM`: the
 * builder stage runs natively and cross-compiles) and the user did not set it. Podman 4.3 does not define it for
 * FROM lines, so without it every platform's builder would run that platform's image (emulated, or not found).
 * A build without `platforms` leaves it empty and podman builds for the host. Not part of the input hash: it says
 * where the build runs, not what it makes.
 */
export function platformBuildArgs(
  containerfile: string,
  platforms: readonly string[],
  buildArgs: Readonly<Record<string, string>>,
  osArch: string | undefined,
): Record<string, string> {
  if (platforms.length === 0 || osArch === undefined || 'BUILDPLATFORM' in buildArgs) return {};
  return /\$\{?BUILDPLATFORM\b/.test(containerfile) ? { BUILDPLATFORM: osArch } : {};
}

/**
 * Go's module settings that podman-build passes from its own environment, so that a corporate proxy or private
 * modules work in CI without writing them into project.json. Passed as `--build-arg NAME` without a value: podman
 * reads the value from its environment, so it never appears in a command line or a log.
 */
export const GO_ENV_BUILD_ARGS = ['GOPROXY', 'GOPRIVATE', 'GONOPROXY', 'GONOSUMDB', 'GOSUMDB', 'GOFLAGS'] as const;

/** The names a Containerfile declares with `ARG` (any stage, defaults dropped). */
export function declaredArgs(containerfile: string): Set<string> {
  const names = new Set<string>();
  for (const match of containerfile.matchAll(/^[ \t]*ARG[ \t]+([^\n]*)$/gim)) {
    for (const word of match[1].trim().split(/\s+/)) {
      const name = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(word)?.[1];
      if (name) names.add(name);
    }
  }
  return names;
}

/**
 * Of {@link GO_ENV_BUILD_ARGS}: those set (non-empty) in `env` that the Containerfile declares with `ARG` and the
 * `buildArgs` option does not set, with their values (for the input hash only: GOFLAGS can change the binary).
 */
export function goEnvBuildArgs(
  containerfile: string,
  env: Readonly<Record<string, string | undefined>>,
  buildArgs: Readonly<Record<string, string>>,
): Record<string, string> {
  const declared = declaredArgs(containerfile);
  return Object.fromEntries(Object.entries(goEnvValues(env)).filter(([name]) => declared.has(name) && !(name in buildArgs)));
}

/** The {@link GO_ENV_BUILD_ARGS} set (non-empty) in `env`. */
export function goEnvValues(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of GO_ENV_BUILD_ARGS) {
    const value = env[name];
    if (value !== undefined && value !== '') found[name] = value;
  }
  return found;
}

/**
 * The volumes of `podman build` extra arguments (`-v SRC:DST[:opts]`, `--volume=...`): RUN steps see them, so the
 * live update's builder mounts them too (a module proxy directory, a private CA bundle).
 */
export function buildVolumes(extraArgs: readonly string[]): string[] {
  const volumes: string[] = [];
  for (let index = 0; index < extraArgs.length; index++) {
    const arg = extraArgs[index];
    const inline = /^(?:-v|--volume)=(.+)$/.exec(arg);
    if (inline) volumes.push(inline[1]);
    else if ((arg === '-v' || arg === '--volume') && extraArgs[index + 1] !== undefined) volumes.push(extraArgs[++index]);
  }
  return volumes;
}

/** Everything `podman build` needs, already resolved (tokens expanded, paths absolute). */
export interface PodmanBuildArgsInput {
  file: string;
  context: string;
  stage: string;
  /** Used as `--tag` for single-platform builds; multi-platform builds tag the manifest list afterwards. */
  tags: string[];
  buildArgs: Record<string, string>;
  /** Build args podman takes from its environment (`--build-arg NAME`, no value: never on a command line). */
  envBuildArgs?: string[];
  /** All labels, including the input-hash label. */
  labels: Record<string, string>;
  pull: BuildPullPolicy | undefined;
  noCache: boolean;
  platforms: string[];
  /** Manifest list to create for more than one platform. */
  manifest?: string;
  extraArgs: string[];
}

/** A requested feature the installed podman cannot do. The message says which version is needed. */
export class UnsupportedPodmanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedPodmanError';
  }
}

/** Podman 4.0 made `--pull` take a policy and builds several `--platform`s into one `--manifest`. */
const POLICY_PULL_SINCE: [number, number] = [4, 0];
const MULTI_PLATFORM_SINCE: [number, number] = [4, 0];

/**
 * Returns the `podman build ...` argument array (without global flags) for the installed podman `version`.
 * Throws {@link UnsupportedPodmanError} for a requested feature the version lacks instead of silently dropping it.
 */
export function buildPodmanBuildArgs(input: PodmanBuildArgsInput, version: PodmanVersion): string[] {
  // --force-rm: a failed or aborted build removes its working container too (podman keeps it by default).
  const args = ['build', '--file', input.file, '--target', input.stage, '--force-rm'];
  if (input.platforms.length > 1) {
    if (!isPodmanAtLeast(version, ...MULTI_PLATFORM_SINCE)) {
      throw new UnsupportedPodmanError(
        `Option "platforms" lists ${input.platforms.length} platforms, which needs podman >= ${MULTI_PLATFORM_SINCE.join('.')} (installed: ${version.server}). Upgrade podman or build one platform at a time.`,
      );
    }
    if (!input.manifest) throw new Error('buildPodmanBuildArgs: a multi-platform build needs a manifest name');
    args.push('--platform', input.platforms.join(','), '--manifest', input.manifest);
  } else {
    if (input.platforms.length === 1) args.push('--platform', input.platforms[0]);
    for (const tag of input.tags) args.push('--tag', tag);
  }
  for (const [name, value] of Object.entries(input.buildArgs)) args.push('--build-arg', `${name}=${value}`);
  for (const name of input.envBuildArgs ?? []) args.push('--build-arg', name);
  for (const [name, value] of Object.entries(input.labels)) args.push('--label', `${name}=${value}`);
  if (input.pull) args.push(...pullArgs(input.pull, version));
  if (input.noCache) args.push('--no-cache');
  args.push(...input.extraArgs, input.context);
  return args;
}

function pullArgs(policy: BuildPullPolicy, version: PodmanVersion): string[] {
  if (isPodmanAtLeast(version, ...POLICY_PULL_SINCE)) return [`--pull=${policy}`];
  // Podman 3 knew only a boolean --pull plus --pull-always / --pull-never; its default is "missing".
  if (policy === 'always') return ['--pull-always'];
  if (policy === 'never') return ['--pull-never'];
  if (policy === 'missing') return [];
  throw new UnsupportedPodmanError(
    `Option "pull" is "newer", which needs podman >= ${POLICY_PULL_SINCE.join('.')} (installed: ${version.server}). Use "always" or upgrade podman.`,
  );
}

/**
 * Arguments that push a build. Single-platform: every tag (`podman push TAG`), or the image once to `destination`.
 * Multi-platform: the manifest list with all its images (`podman manifest push --all`).
 */
export function buildPodmanPushArgs(input: { tags: readonly string[]; imageId: string; platforms: readonly string[]; destination?: string }): string[][] {
  if (input.platforms.length > 1) {
    if (input.destination) return [['manifest', 'push', '--all', input.tags[0], input.destination]];
    return input.tags.map((tag) => ['manifest', 'push', '--all', tag, `docker://${tag}`]);
  }
  if (input.destination) return [['push', input.imageId, input.destination]];
  return input.tags.map((tag) => ['push', tag]);
}

/** Build-arg values can hold credentials: show the command with values masked (for debug logs only). */
export function maskBuildArgValues(args: readonly string[]): string[] {
  return args.map((arg, index) => (args[index - 1] === '--build-arg' ? arg.replace(/=.*$/s, '=***') : arg));
}
