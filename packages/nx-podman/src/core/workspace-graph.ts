/** One target of a project, as much of it as watch-reload needs. */
export interface WorkspaceTarget {
  executor?: string;
  /** Nx `inputs` of the target (file sets, named inputs, `^` dependency inputs, runtime/env objects). */
  inputs?: readonly (string | Record<string, unknown>)[];
  options?: Record<string, unknown>;
}

/** One project of the workspace graph. */
export interface WorkspaceProject {
  name: string;
  /** Workspace-relative root, `.` for a root project. */
  root: string;
  tags: readonly string[];
  targets: Readonly<Record<string, WorkspaceTarget>>;
  /** The project's own `namedInputs`, over the workspace ones. */
  namedInputs?: Readonly<Record<string, readonly (string | Record<string, unknown>)[]>>;
}

/** The part of the Nx project graph watch-reload works from (read by `adapters/nx-graph.ts`). */
export interface WorkspaceGraph {
  projects: Readonly<Record<string, WorkspaceProject>>;
  /** Project → projects it depends on (workspace projects only, no npm packages). */
  dependencies: Readonly<Record<string, readonly string[]>>;
  /** `namedInputs` of nx.json. */
  namedInputs: Readonly<Record<string, readonly (string | Record<string, unknown>)[]>>;
}
