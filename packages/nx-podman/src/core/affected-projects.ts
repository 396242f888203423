import type { WorkspaceGraph, WorkspaceProject } from './workspace-graph';
import { findProjectForDir } from './workspace-paths';

/**
 * The project owning a workspace-relative file: the one whose root is the longest prefix of the path
 * (a root project `.` owns what no other project owns). Undefined for a file outside every project.
 */
export function findOwningProject(file: string, projects: Readonly<Record<string, Pick<WorkspaceProject, 'root'>>>): string | undefined {
  return findProjectForDir(
    file,
    Object.entries(projects).map(([name, project]) => ({ name, root: project.root })),
  );
}

/** The given projects and everything they depend on, transitively. */
export function dependencyClosure(names: Iterable<string>, dependencies: WorkspaceGraph['dependencies']): Set<string> {
  const seen = new Set<string>();
  const stack = [...names];
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    stack.push(...(dependencies[name] ?? []));
  }
  return seen;
}

/** The project and every project that depends on it, transitively (reverse edges). */
export function dependentClosure(name: string, dependencies: WorkspaceGraph['dependencies']): Set<string> {
  const reverse = new Map<string, string[]>();
  for (const [from, tos] of Object.entries(dependencies)) {
    for (const to of tos) reverse.set(to, [...(reverse.get(to) ?? []), from]);
  }
  const seen = new Set<string>();
  const stack = [name];
  while (stack.length) {
    const current = stack.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    stack.push(...(reverse.get(current) ?? []));
  }
  return seen;
}

/**
 * Semantic 1: a change to a file of `owner` affects `owner` and every project depending on it, transitively, among the
 * `buildable` projects (selected and having the build target). A change to `core` (no Containerfile) therefore yields
 * its dependent plugins and never `core` itself. Sorted.
 */
export function affectedProjects(owner: string, dependencies: WorkspaceGraph['dependencies'], buildable: ReadonlySet<string>): string[] {
  return [...dependentClosure(owner, dependencies)].filter((name) => buildable.has(name)).sort();
}
