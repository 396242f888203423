import { posix } from 'node:path';
import type { GoImport } from './go-imports';
import type { GoModFile, GoWorkFile } from './go-module';
import { findProjectForDir, normalizeWorkspacePath, type ProjectRoot } from './workspace-paths';

/** A Go module of the workspace: the project whose root holds the go.mod, and the go.mod's `module` path. */
export interface WorkspaceGoModule {
  project: string;
  modulePath: string;
}

/** A dependency found in one file, before Nx's types are attached. */
export interface GoDependencyEdge {
  source: string;
  target: string;
  /** Workspace-relative file that makes the dependency. */
  sourceFile: string;
}

/** Resolves a directory written in a go.mod/go.work (relative to that file's directory) to a workspace-relative path; undefined when absolute or outside the workspace. */
export function resolveGoDir(fileDir: string, dir: string): string | undefined {
  const written = dir.replace(/\\/g, '/');
  if (written.startsWith('/') || /^[A-Za-z]:\//.test(written)) return undefined;
  const resolved = normalizeWorkspacePath(posix.join(normalizeWorkspacePath(fileDir), written));
  return resolved === '..' || resolved.startsWith('../') ? undefined : resolved;
}

/** Module path → owning project, with Go's package-path rules. */
export interface GoModuleIndex {
  /** The project of the module named exactly `modulePath`. */
  moduleOwner(modulePath: string): string | undefined;
  /** The project of the module providing package `importPath`: the longest module path that is the import path or a `/`-prefix of it. */
  packageOwner(importPath: string): string | undefined;
}

/** Builds the lookup over the workspace's Go modules. When two projects declare the same module path, the first wins. */
export function createGoModuleIndex(modules: readonly WorkspaceGoModule[]): GoModuleIndex {
  const byPath = new Map<string, string>();
  for (const { modulePath, project } of modules) if (!byPath.has(modulePath)) byPath.set(modulePath, project);
  return {
    moduleOwner: (modulePath) => byPath.get(modulePath),
    packageOwner(importPath) {
      // Walking the path upwards finds the longest module prefix first.
      for (let candidate = importPath; candidate;) {
        const owner = byPath.get(candidate);
        if (owner !== undefined) return owner;
        const slash = candidate.lastIndexOf('/');
        candidate = slash < 0 ? '' : candidate.slice(0, slash);
      }
      return undefined;
    },
  };
}

interface EdgeContext {
  source: string;
  sourceFile: string;
  projects: readonly ProjectRoot[];
}

function collect(targets: Iterable<string | undefined>, { source, sourceFile }: EdgeContext): GoDependencyEdge[] {
  const seen = new Set<string>();
  const edges: GoDependencyEdge[] = [];
  for (const target of targets) {
    if (target === undefined || target === source || seen.has(target)) continue;
    seen.add(target);
    edges.push({ source, target, sourceFile });
  }
  return edges;
}

/**
 * Dependencies a go.mod declares: each `require` of a workspace module (following its `replace`, if any), and each
 * `replace` with a local directory, to the project whose root contains that directory.
 */
export function goModDependencies(goMod: GoModFile, index: GoModuleIndex, context: EdgeContext): GoDependencyEdge[] {
  const fileDir = posix.dirname(normalizeWorkspacePath(context.sourceFile));
  const ownerOfDir = (dir: string) => {
    const resolved = resolveGoDir(fileDir, dir);
    return resolved === undefined ? undefined : findProjectForDir(resolved, context.projects);
  };
  const targets: (string | undefined)[] = [];
  for (const require of goMod.requires) {
    // A version-specific replace beats a wildcard one, as in the go command.
    const replace =
      goMod.replaces.find((r) => r.path === require.path && r.version === require.version) ??
      goMod.replaces.find((r) => r.path === require.path && r.version === undefined);
    if (replace?.localDir !== undefined) targets.push(ownerOfDir(replace.localDir));
    else if (replace?.module) targets.push(index.moduleOwner(replace.module.path));
    else targets.push(index.moduleOwner(require.path));
  }
  for (const replace of goMod.replaces) if (replace.localDir !== undefined) targets.push(ownerOfDir(replace.localDir));
  return collect(targets, context);
}

/** Dependencies of one .go file: each import whose package belongs to a workspace module of another project. */
export function goImportDependencies(imports: readonly GoImport[], index: GoModuleIndex, context: EdgeContext): GoDependencyEdge[] {
  return collect(
    imports.map((spec) => index.packageOwner(spec.path)),
    context,
  );
}

/** Dependencies of a go.work that belongs to a project: each `use`d directory owned by another project. */
export function goWorkDependencies(goWork: GoWorkFile, context: EdgeContext): GoDependencyEdge[] {
  const fileDir = posix.dirname(normalizeWorkspacePath(context.sourceFile));
  const owner = (dir: string) => {
    const resolved = resolveGoDir(fileDir, dir);
    return resolved === undefined ? undefined : findProjectForDir(resolved, context.projects);
  };
  return collect(
    [...goWork.uses.map((use) => owner(use.dir)), ...goWork.replaces.flatMap((r) => (r.localDir !== undefined ? [owner(r.localDir)] : []))],
    context,
  );
}

/** Whether a path is Go source the go command compiles into a binary (not tests, vendor or testdata). */
export function isGoSourceFile(path: string, includeTests: boolean): boolean {
  const normalized = normalizeWorkspacePath(path);
  if (!normalized.endsWith('.go')) return false;
  if (!includeTests && normalized.endsWith('_test.go')) return false;
  const parts = normalized.split('/');
  // The go command ignores vendor/ (for our modules), testdata/, and directories starting with "." or "_".
  return !parts.slice(0, -1).some((part) => part === 'vendor' || part === 'testdata' || part.startsWith('.') || part.startsWith('_'));
}
