import { dirname, join } from 'node:path';
import { dependencyClosure } from '../../core/affected-projects';
import { parseContainerfile } from '../../core/containerfile';
import { DEFAULT_INCLUDE, createFileFilter, globsFromCopySources, globsFromTargetInputs, parseIgnoreFile } from '../../core/file-filter';
import { selectProjects } from '../../core/project-selector';
import type { WorkspaceGraph } from '../../core/workspace-graph';
import type { NormalizedWatchReloadOptions } from './normalize-options';

/** What the watch works from; rebuilt after every graph refresh. */
export interface WatchModel {
  graph: WorkspaceGraph;
  selected: string[];
  /** Selected projects having the build target. */
  buildable: Set<string>;
  /** Selected projects and everything they depend on. */
  watched: Set<string>;
  /** Per watched project: does a workspace-relative file count as a build input? */
  filters: Map<string, (path: string) => boolean>;
}

/** What {@link buildWatchModel} reads besides the graph. */
export interface WatchModelSources {
  /** Workspace-relative Containerfile and build context of a project's build target, if it is a podman-build one. */
  describeBuild(project: string): Promise<{ file: string; context: string } | undefined>;
  /** Reads a workspace-relative text file; undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
}

/** Thrown for a selection that cannot work (typo in a project name). */
export class WatchSelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WatchSelectionError';
  }
}

/** Files whose appearance, removal or change can change the project graph. */
const GRAPH_FILES = new Set(['go.mod', 'project.json', 'Containerfile', 'Dockerfile', 'package.json']);
/** Files whose change changes what a project's build reads (its COPY sources, its ignore rules): its input filter. */
const FILTER_FILES = /(^|\/)(Containerfile|Dockerfile|[^/]*\.(Containerfile|Dockerfile)|[^/]*\.containerignore|\.dockerignore)$/;

/**
 * Whether an event on a workspace-relative path may change the project graph or a project's input filter (a refresh
 * is due): a COPY added to a Containerfile while watching makes its source a build input.
 */
export function isGraphChange(op: string, file: string): boolean {
  const name = file.slice(file.lastIndexOf('/') + 1);
  if (op === 'unlinkDir') return true;
  if (GRAPH_FILES.has(name) && (op !== 'change' || name === 'go.mod' || name === 'project.json')) return true;
  return op !== 'addDir' && FILTER_FILES.test(file);
}

/** Selects the projects, their dependencies, and each one's input filter (build target inputs, else COPY sources). */
export async function buildWatchModel(graph: WorkspaceGraph, options: NormalizedWatchReloadOptions, sources: WatchModelSources): Promise<WatchModel> {
  const { selected, unknownNames } = selectProjects(options.projects, graph.projects);
  if (unknownNames.length) {
    const known = Object.keys(graph.projects).sort().join(', ');
    throw new WatchSelectionError(
      `Invalid watch-reload option "projects": no project named ${unknownNames.map((n) => `"${n}"`).join(', ')}. Known projects: ${known}. Use names, globs (plugin-*) or tag: selectors (tag:plugin).`,
    );
  }
  const buildable = new Set(selected.filter((name) => graph.projects[name].targets[options.buildTarget] !== undefined));
  const watched = dependencyClosure(selected, graph.dependencies);
  const filters = new Map<string, (path: string) => boolean>();
  for (const name of watched) {
    const project = graph.projects[name];
    if (!project) continue;
    // `include` replaces the defaults; otherwise the build target's inputs and the files its Containerfile copies both count.
    let include = options.include ? [...options.include] : undefined;
    let exclude = [...options.ignore];
    let ignore: { context: string; rules: ReturnType<typeof parseIgnoreFile> } | undefined;
    const target = project.targets[options.buildTarget];
    if (target) {
      const described = await sources.describeBuild(name).catch(() => undefined);
      const fromUser = include !== undefined;
      if (!fromUser) {
        const fromInputs = globsFromTargetInputs(target.inputs, { projectRoot: project.root, namedInputs: { ...graph.namedInputs, ...project.namedInputs } });
        if (fromInputs) {
          include = fromInputs.include;
          exclude = [...exclude, ...fromInputs.exclude];
        }
      }
      if (described) {
        const containerfile = await sources.readFile(described.file);
        if (!fromUser && containerfile !== undefined) {
          const copied = parseContainerfile(containerfile).copies.flatMap((copy) => copy.sources);
          include = [
            ...new Set([...(include ?? DEFAULT_INCLUDE), ...globsFromCopySources(copied, { buildContext: described.context, projectRoot: project.root })]),
          ];
        }
        const ignoreText =
          (await sources.readFile(`${described.file}.containerignore`)) ??
          (await sources.readFile(join(described.context, '.containerignore'))) ??
          (await sources.readFile(join(described.context, '.dockerignore')));
        if (ignoreText !== undefined) ignore = { context: described.context, rules: parseIgnoreFile(ignoreText) };
      }
    }
    filters.set(name, createFileFilter({ projectRoot: project.root, include: include ?? DEFAULT_INCLUDE, exclude, ignore }));
  }
  return { graph, selected, buildable, watched, filters };
}

/**
 * Workspace-relative directories to watch: the parent of each watched project root, so that sibling projects created
 * later are seen; nested ones are dropped. `.` is the workspace root.
 */
export function watchDirectories(model: WatchModel): string[] {
  const dirs = [...model.watched]
    .map((name) => model.graph.projects[name]?.root)
    .filter((root): root is string => root !== undefined)
    .map((root) => (root === '.' || root === '' ? '.' : dirname(root).split('\\').join('/')));
  const unique = [...new Set(dirs)].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const dir of unique) {
    if (!kept.some((parent) => parent === '.' || dir === parent || dir.startsWith(`${parent}/`))) kept.push(dir);
  }
  return kept;
}
