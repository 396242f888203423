/** Options of the `@prism/nx-podman` plugin entry in nx.json (`plugins: [{ plugin: '@prism/nx-podman', options: {...} }]`). */
export interface PodmanPluginOptions {
  /** Name of the inferred image build target. @default "podman-build" */
  buildTargetName?: string;
  /** Name of the inferred container (re)start target. @default "podman-run" */
  runTargetName?: string;
  /** Name of the inferred watch-and-reload target. @default "watch-reload" */
  watchTargetName?: string;
  /**
   * Whether imports in `_test.go` files make graph edges. Off by default: tests are not part of the image, and an edge
   * from a test-only import would rebuild and restart a plugin whose binary did not change. @default false
   */
  includeTestImports?: boolean;
  /**
   * The registry (and namespace) CI pushes to, e.g. `ghcr.io/acme` or `registry.internal:5000/prism`. When set, the
   * inferred build target gets a `ci` configuration: the production stage pushed as
   * `<registry>/<project>-plugin:{shortCommitSha}` and `:latest`, with the registry cache on (builds shared by CI
   * machines: `nx affected -t podman-build -c ci`).
   */
  registry?: string;
}

/** Plugin options with defaults applied and validated once. */
export interface NormalizedPodmanPluginOptions {
  buildTargetName: string;
  runTargetName: string;
  watchTargetName: string;
  includeTestImports: boolean;
  /** Without a trailing `/`; undefined: no `ci` configuration. */
  registry: string | undefined;
}

const TARGET_NAME_OPTIONS = ['buildTargetName', 'runTargetName', 'watchTargetName'] as const;

/** The defaults of the plugin options (also the generators' default target names). */
export const DEFAULT_PLUGIN_OPTIONS: Readonly<NormalizedPodmanPluginOptions> = Object.freeze({
  buildTargetName: 'podman-build',
  runTargetName: 'podman-run',
  watchTargetName: 'watch-reload',
  includeTestImports: false,
  registry: undefined,
});

// host[:port] (a dot, a port or "localhost" tells a registry from a namespace, as podman does), then path components.
const REGISTRY = /^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|[A-Za-z0-9.-]+:[0-9]+|\[[0-9a-fA-F:]+\](:[0-9]+)?)(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*$/;

/** The `registry` option checked: a registry host with an optional namespace, no scheme, no tag. */
function normalizeRegistry(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const fix = 'Write it as host[:port][/namespace], e.g. "ghcr.io/acme" or "127.0.0.1:5000", in nx.json under plugins[].options.';
  if (typeof value !== 'string' || value.trim() === '')
    throw new Error(`@prism/nx-podman plugin option "registry" must be a registry name (got ${JSON.stringify(value)}). ${fix}`);
  const registry = value.trim().replace(/\/+$/, '');
  if (/^[a-z]+:\/\//i.test(registry)) {
    throw new Error(
      `@prism/nx-podman plugin option "registry" must not have a scheme (got ${JSON.stringify(value)}): podman picks https, or http for a registry marked insecure in registries.conf. ${fix}`,
    );
  }
  if (!REGISTRY.test(registry)) {
    throw new Error(
      `@prism/nx-podman plugin option "registry" is not a registry host with an optional lower-case namespace and no tag (got ${JSON.stringify(value)}). ${fix}`,
    );
  }
  return registry;
}

/** Applies defaults and checks the plugin options; throws an error naming the option, the value and the fix. */
export function normalizePluginOptions(options: PodmanPluginOptions | undefined): NormalizedPodmanPluginOptions {
  const raw = (options ?? {}) as Record<string, unknown>;
  const normalized: NormalizedPodmanPluginOptions = { ...DEFAULT_PLUGIN_OPTIONS };
  for (const key of TARGET_NAME_OPTIONS) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.trim() === '' || value.includes(':')) {
      throw new Error(
        `@prism/nx-podman plugin option "${key}" must be a non-empty target name without ":" (got ${JSON.stringify(value)}). ` +
          'Fix it in nx.json under plugins[].options, or remove it to use the default.',
      );
    }
    normalized[key] = value;
  }
  if (raw.includeTestImports !== undefined) {
    if (typeof raw.includeTestImports !== 'boolean') {
      throw new Error(
        `@prism/nx-podman plugin option "includeTestImports" must be true or false (got ${JSON.stringify(raw.includeTestImports)}). Fix it in nx.json under plugins[].options.`,
      );
    }
    normalized.includeTestImports = raw.includeTestImports;
  }
  normalized.registry = normalizeRegistry(raw.registry);
  const names = TARGET_NAME_OPTIONS.map((key) => normalized[key]);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) {
    throw new Error(
      `@prism/nx-podman plugin options buildTargetName, runTargetName and watchTargetName must differ (two are "${duplicate}"). Rename one in nx.json under plugins[].options.`,
    );
  }
  return Object.freeze(normalized);
}
