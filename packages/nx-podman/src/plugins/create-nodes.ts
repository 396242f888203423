import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import {
  createNodesFromFiles,
  type CreateNodes,
  type CreateNodesContext,
  type CreateNodesResult,
  type ProjectConfiguration,
  type TargetConfiguration,
} from '@nx/devkit';
import { PluginCache, calculateHashesForCreateNodes, hashObject, workspaceDataDirectory } from '@nx/devkit/internal';
import { imageNameComponent } from '../core/build-args';
import { parseContainerfile, type ParsedContainerfile } from '../core/containerfile';
import { mapCopySource } from '../core/copy-sources';
import { resolveGoDir } from '../core/go-dependencies';
import { commonAncestorDir, isWithin, normalizeWorkspacePath } from '../core/workspace-paths';
import { parseGoMod, type GoModFile } from '../core/go-module';
import { DEFAULT_PLUGIN_OPTIONS, normalizePluginOptions, type NormalizedPodmanPluginOptions, type PodmanPluginOptions } from './plugin-options';

/** The file names that make a Go project an image project, in the order podman looks for them. */
export const CONTAINERFILE_NAMES = ['Containerfile', 'Dockerfile'] as const;

/** Everything the inferred configuration of one Go project depends on, read from disk by {@link createNodes}. */
export interface GoProjectFacts {
  /** Workspace-relative root (`.` for the workspace root). */
  root: string;
  name: string;
  goMod: GoModFile;
  /** The project's Containerfile (or Dockerfile), when it has one. */
  containerfile?: {
    fileName: (typeof CONTAINERFILE_NAMES)[number];
    parsed: ParsedContainerfile;
    /** What each COPY source is on disk now (workspace-relative path → kind); a source missing here does not exist yet. */
    kinds?: Readonly<Record<string, 'file' | 'dir'>>;
  };
  /**
   * The build context the project's project.json sets on its build target (`options.context`), workspace-relative:
   * it wins over the inferred one, so that the inputs map COPY sources from where podman really reads them.
   */
  contextOption?: string;
}

/** A project entry as createNodes returns it. */
export type InferredGoProject = Omit<ProjectConfiguration, 'root'> & { name: string };

const STAGE_CONFIGURATIONS = { production: { stage: 'production' }, debug: { stage: 'debug' } };

/** Bumped when the inferred shape changes, so cached results from an older plugin version are not reused. */
const INFERENCE_VERSION = 4;

/**
 * The `ci` configuration of the build target when the plugin option `registry` is set: the production image pushed to
 * the registry, tagged with the commit and `latest`, with the registry cache on (`nx affected -t podman-build -c ci`).
 */
export function ciConfiguration(name: string, registry: string): Record<string, unknown> {
  const repository = `${registry}/${imageNameComponent(name)}-plugin`;
  // registryCache: the registry is the image store that CI machines (Nx agents) share.
  return { stage: 'production', push: true, tags: [`${repository}:{shortCommitSha}`, `${repository}:latest`], registryCache: true };
}

/**
 * The podman build context of a project: its root, widened to the nearest common ancestor of the root and every
 * local directory its go.mod `replace`s outside the root (so `COPY core/ core/` can reach `plugins/core`).
 */
export function inferBuildContext(root: string, goMod: GoModFile): string {
  const outside = goMod.replaces.flatMap((replace) => {
    if (replace.localDir === undefined) return [];
    const dir = resolveGoDir(root, replace.localDir);
    return dir !== undefined && !isWithin(dir, root) ? [dir] : [];
  });
  return commonAncestorDir([root, ...outside]);
}

/** Writes a workspace-relative path as an Nx input token: `{projectRoot}/...` inside the project, `{workspaceRoot}/...` outside. */
function inputPath(root: string, path: string): string {
  const normalized = normalizeWorkspacePath(path);
  if (isWithin(normalized, root)) {
    const rel = root === '.' ? normalized : posix.relative(root, normalized);
    return rel === '' || rel === '.' ? '{projectRoot}' : `{projectRoot}/${rel}`;
  }
  return `{workspaceRoot}/${normalized}`;
}

const GLOB = /[*?[]/;

/**
 * Inputs for the files a Containerfile COPYs/ADDs from the context: each source as the file, the glob or the directory
 * it is (`kinds`, read from the disk); one that does not exist yet may become either, so it is covered both ways.
 */
function copiedInputs(root: string, context: string, parsed: ParsedContainerfile, kinds: Readonly<Record<string, 'file' | 'dir'>> = {}): string[] {
  const inputs: string[] = [];
  for (const copy of parsed.copies) {
    for (const source of copy.sources) {
      // Variables are resolved at build time; the project's own inputs still cover the usual case.
      const mapped = mapCopySource(source, { context, projectRoot: root });
      if (!mapped) continue;
      const base = inputPath(root, mapped.path);
      const kind = mapped.isDirectory ? 'dir' : GLOB.test(mapped.path) ? 'file' : kinds[mapped.path];
      if (kind !== 'dir') inputs.push(base);
      if (kind !== 'file') inputs.push(`${base}/**/*`);
    }
  }
  return inputs;
}

/** Drops repeated inputs and files a `<dir>/**\/*` input of the list already covers (`{projectRoot}/go.mod` beside `{projectRoot}/**\/*`). */
function withoutCovered(inputs: string[]): string[] {
  const dirs = inputs.filter((input) => input.endsWith('/**/*') && !/^[!^]/.test(input)).map((input) => input.slice(0, -'**/*'.length));
  return inputs.filter((input, index) => {
    if (inputs.indexOf(input) !== index) return false;
    if (/^[!^]/.test(input)) return true;
    return !dirs.some((dir) => input.startsWith(dir) && input !== `${dir}**/*`);
  });
}

/** The inputs of an image build: sources that go into the binary, build files, copied files, and the same sources of dependencies. */
export function inferBuildInputs(root: string, context: string, containerfile: NonNullable<GoProjectFacts['containerfile']>): TargetConfiguration['inputs'] {
  const copied = copiedInputs(root, context, containerfile.parsed, containerfile.kinds);
  const ignoreFiles = ['.containerignore', '.dockerignore'].flatMap((name) => {
    const inContext = inputPath(root, posix.join(context, name));
    const inRoot = `{projectRoot}/${name}`;
    return inContext === inRoot ? [inRoot] : [inRoot, inContext];
  });
  const outsideDirs = [
    ...new Set(copied.filter((input) => input.startsWith('{workspaceRoot}/') && input.endsWith('/**/*')).map((input) => input.slice(0, -'/**/*'.length))),
  ];
  const inputs = [
    '{projectRoot}/**/*.go',
    '{projectRoot}/go.mod',
    '{projectRoot}/go.sum',
    `{projectRoot}/${containerfile.fileName}`,
    ...ignoreFiles,
    ...copied,
    // Tests never reach the image; excluding them keeps a test-only change from looking like an image change.
    '!{projectRoot}/**/*_test.go',
    ...outsideDirs.map((dir) => `!${dir}/**/*_test.go`),
    // Nx resolves each dependency fileset on its own (a `!` one would add every other file), hence the extglob.
    '^{projectRoot}/**/!(*_test).go',
    '^{projectRoot}/go.mod',
    '^{projectRoot}/go.sum',
  ];
  return withoutCovered(inputs);
}

/** The configuration inferred for one Go project: a bare project, plus build/run/watch targets when it has a Containerfile. */
export function createGoProjectConfiguration(facts: GoProjectFacts, options: NormalizedPodmanPluginOptions): InferredGoProject {
  const { name, root, containerfile } = facts;
  if (!containerfile) return { name, targets: {} };
  const context = facts.contextOption ?? inferBuildContext(root, facts.goMod);
  const help = (target: string, example: { options?: Record<string, unknown>; args?: string[] }) => ({
    command: `npx nx run ${name}:${target} --help`,
    example,
  });
  const technologies = ['podman', 'go'];
  const build: TargetConfiguration = {
    executor: '@prism/nx-podman:podman-build',
    // An image lives in podman's store, not in files Nx could restore from its cache.
    cache: false,
    inputs: inferBuildInputs(root, context, containerfile),
    options: {
      file: `{projectRoot}/${containerfile.fileName}`,
      context: context === normalizeWorkspacePath(root) ? '{projectRoot}' : context,
    },
    configurations: {
      ...structuredClone(STAGE_CONFIGURATIONS),
      ...(options.registry !== undefined && { ci: ciConfiguration(name, options.registry) }),
    },
    defaultConfiguration: 'production',
    metadata: {
      technologies,
      description: `Builds the ${name} plugin image with podman (image prism/${name}-plugin:<stage>; configurations production and debug select the stage${options.registry !== undefined ? `; ci pushes it to ${options.registry}` : ''}).`,
      help: help(options.buildTargetName, { options: { stage: 'debug', force: true } }),
    },
  };
  const run: TargetConfiguration = {
    executor: '@prism/nx-podman:podman-run',
    cache: false,
    options: {},
    configurations: structuredClone(STAGE_CONFIGURATIONS),
    defaultConfiguration: 'production',
    metadata: {
      technologies,
      description: `Replaces the ${name} plugin container (${name}-plugin, or ${name}-plugin-debug for the debug stage) with the last built image and waits until it is healthy.`,
      help: help(options.runTargetName, { options: { ports: ['8080:8080'] } }),
    },
  };
  const watch: TargetConfiguration = {
    executor: '@prism/nx-podman:watch-reload',
    continuous: true,
    cache: false,
    // watch-reload runs the build and run targets by name: tell it when the plugin options renamed them.
    options: {
      ...(options.buildTargetName !== 'podman-build' && { buildTarget: options.buildTargetName }),
      ...(options.runTargetName !== 'podman-run' && { runTarget: options.runTargetName }),
    },
    configurations: structuredClone(STAGE_CONFIGURATIONS),
    defaultConfiguration: 'production',
    metadata: {
      technologies,
      description: `Watches ${name} and the projects it depends on; on a change, rebuilds the affected plugin images and restarts their containers.`,
      help: help(options.watchTargetName, { options: { stage: 'debug' } }),
    },
  };
  return {
    name,
    targets: {
      [options.buildTargetName]: build,
      [options.runTargetName]: run,
      [options.watchTargetName]: watch,
    },
  };
}

/** A context option as written in project.json (`{projectRoot}`, `{workspaceRoot}/x`, or workspace-relative) → workspace-relative. */
function resolveContextOption(value: unknown, root: string): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const path = value
    .replace('{projectRoot}', root === '.' ? '' : root)
    .replace('{workspaceRoot}', '')
    .replace(/^\/+/, '');
  const normalized = normalizeWorkspacePath(path === '' ? '.' : path);
  return normalized === '..' || normalized.startsWith('../') || posix.isAbsolute(normalized) ? undefined : normalized;
}

/**
 * Reads a project.json next to the go.mod: its name (which wins over the folder name as usual in Nx) and the build
 * context its build target sets.
 */
function readProjectJson(absoluteRoot: string, root: string, buildTargetName: string): { exists: boolean; name?: string; contextOption?: string } {
  const path = join(absoluteRoot, 'project.json');
  if (!existsSync(path)) return { exists: false };
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; targets?: Record<string, { options?: { context?: unknown } }> };
    const name = json.name;
    const contextOption = resolveContextOption(json.targets?.[buildTargetName]?.options?.context, root);
    return { exists: true, ...(typeof name === 'string' && name ? { name } : {}), ...(contextOption ? { contextOption } : {}) };
  } catch {
    // Nx's own project.json plugin reports a broken project.json; the folder name is the best guess meanwhile.
    return { exists: true };
  }
}

/** What each COPY source of `parsed` is on disk: a file or a directory (absent: not there, a glob, or a variable). */
function copySourceKinds(workspaceRoot: string, root: string, context: string, parsed: ParsedContainerfile): Record<string, 'file' | 'dir'> {
  const kinds: Record<string, 'file' | 'dir'> = {};
  for (const source of parsed.copies.flatMap((copy) => copy.sources)) {
    const mapped = mapCopySource(source, { context, projectRoot: root });
    if (!mapped || GLOB.test(mapped.path)) continue;
    const stats = statSync(join(workspaceRoot, mapped.path), { throwIfNoEntry: false });
    if (stats) kinds[mapped.path] = stats.isDirectory() ? 'dir' : 'file';
  }
  return kinds;
}

/** Reads the facts of the project owning `goModFile`, or undefined when that go.mod does not make a project. */
export function readGoProjectFacts(
  goModFile: string,
  workspaceRoot: string,
  buildTargetName = DEFAULT_PLUGIN_OPTIONS.buildTargetName,
): GoProjectFacts | undefined {
  const file = normalizeWorkspacePath(goModFile);
  const root = posix.dirname(file);
  const parts = root.split('/');
  // The go command ignores these directories, so a go.mod there is a fixture or vendored copy, not a module of ours.
  if (parts.some((part) => part === 'testdata' || part === 'vendor' || part === 'node_modules')) return undefined;
  const absoluteRoot = join(workspaceRoot, root);
  const projectJson = readProjectJson(absoluteRoot, root, buildTargetName);
  if (root === '.' && !projectJson.exists) return undefined;
  const goMod = parseGoMod(readFileSync(join(workspaceRoot, file), 'utf8'), file);
  const name = projectJson.name ?? basename(root === '.' ? workspaceRoot : root);
  const fileName = CONTAINERFILE_NAMES.find((candidate) => existsSync(join(absoluteRoot, candidate)));
  const parsed = fileName ? parseContainerfile(readFileSync(join(absoluteRoot, fileName), 'utf8')) : undefined;
  const context = projectJson.contextOption ?? inferBuildContext(root, goMod);
  const containerfile = fileName && parsed ? { fileName, parsed, kinds: copySourceKinds(workspaceRoot, root, context, parsed) } : undefined;
  return { root, name, goMod, ...(containerfile ? { containerfile } : {}), ...(projectJson.contextOption ? { contextOption: projectJson.contextOption } : {}) };
}

function inferNodes(goModFile: string, options: NormalizedPodmanPluginOptions, context: CreateNodesContext): CreateNodesResult {
  const facts = readGoProjectFacts(goModFile, context.workspaceRoot, options.buildTargetName);
  if (!facts) return {};
  return { projects: { [facts.root]: createGoProjectConfiguration(facts, options) } };
}

/**
 * Infers a project for every folder with a go.mod (name: the folder, or project.json's `name`; a root go.mod only
 * with a project.json), and podman-build / podman-run / watch-reload targets when the folder has a Containerfile or
 * Dockerfile. Results are cached per project, keyed by the hash of the project's files and the plugin options.
 */
export const createNodes: CreateNodes<PodmanPluginOptions> = [
  '**/go.mod',
  async (configFiles, rawOptions, context) => {
    const options = normalizePluginOptions(rawOptions);
    const files = [...configFiles];
    const roots = files.map((file) => posix.dirname(normalizeWorkspacePath(file)));
    const keys = await calculateHashesForCreateNodes(roots, { ...options, inferenceVersion: INFERENCE_VERSION }, context);
    const cache = new PluginCache<CreateNodesResult>(join(workspaceDataDirectory, `nx-podman-${hashObject(options)}.hash`));
    try {
      return await createNodesFromFiles(
        (file, _options, ctx, index) => {
          const key = keys[index];
          const cached = cache.get(key);
          if (cached) return structuredClone(cached);
          const result = inferNodes(file, options, ctx);
          cache.set(key, result);
          return result;
        },
        files,
        options,
        context,
      );
    } finally {
      cache.writeToDisk();
    }
  },
];
