import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createProjectGraphAsync, readProjectsConfigurationFromProjectGraph, type ProjectGraph, type ProjectsConfigurations } from '@nx/devkit';
import type { WorkspaceGraph, WorkspaceProject } from '../core/workspace-graph';

/** One read of the Nx project graph: the slice watch-reload works from, plus what devkit calls need. */
export interface GraphSnapshot {
  graph: WorkspaceGraph;
  projectGraph: ProjectGraph;
  projectsConfigurations: ProjectsConfigurations;
}

/** The graph port: read once at start, again when a project appears or changes (go.mod, Containerfile, project.json). */
export interface GraphReader {
  read(): Promise<GraphSnapshot>;
}

type Inputs = readonly (string | Record<string, unknown>)[];

/** Converts an Nx project graph (and nx.json's `namedInputs`) into a {@link WorkspaceGraph}; npm nodes are dropped. */
export function toWorkspaceGraph(projectGraph: ProjectGraph, namedInputs: Readonly<Record<string, Inputs>> = {}): WorkspaceGraph {
  const projects: Record<string, WorkspaceProject> = {};
  for (const [name, node] of Object.entries(projectGraph.nodes)) {
    const data = node.data;
    projects[name] = {
      name,
      root: data.root,
      tags: data.tags ?? [],
      namedInputs: data.namedInputs as Record<string, Inputs> | undefined,
      targets: Object.fromEntries(
        Object.entries(data.targets ?? {}).map(([target, config]) => [
          target,
          { executor: config.executor, inputs: config.inputs as Inputs | undefined, options: config.options as Record<string, unknown> | undefined },
        ]),
      ),
    };
  }
  const dependencies: Record<string, string[]> = {};
  for (const [name, edges] of Object.entries(projectGraph.dependencies)) {
    if (!projects[name]) continue;
    dependencies[name] = [...new Set(edges.map((edge) => edge.target).filter((target) => target !== name && projects[target] !== undefined))].sort();
  }
  return { projects, dependencies, namedInputs };
}

/** nx.json's `namedInputs`, read fresh (nx.json may change while watching); none when it cannot be read. */
function readNamedInputs(workspaceRoot: string): Record<string, Inputs> {
  try {
    const nxJson = JSON.parse(readFileSync(join(workspaceRoot, 'nx.json'), 'utf8')) as { namedInputs?: Record<string, Inputs> };
    return nxJson.namedInputs ?? {};
  } catch {
    return {};
  }
}

/** Wraps a project graph as a snapshot. */
export function snapshotOf(projectGraph: ProjectGraph, workspaceRoot: string): GraphSnapshot {
  return {
    graph: toWorkspaceGraph(projectGraph, readNamedInputs(workspaceRoot)),
    projectGraph,
    projectsConfigurations: readProjectsConfigurationFromProjectGraph(projectGraph),
  };
}

/**
 * The real {@link GraphReader}: `createProjectGraphAsync` (through the Nx daemon when it runs), so graph inference,
 * project.json files and `implicitDependencies` all count. The first read can reuse the graph the executor got.
 */
export function createNxGraphReader(workspaceRoot: string, initial?: ProjectGraph): GraphReader {
  let first = initial;
  return {
    async read() {
      const graph = first ?? (await createProjectGraphAsync({ exitOnError: false }));
      first = undefined;
      return snapshotOf(graph, workspaceRoot);
    },
  };
}
