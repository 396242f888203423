import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { DependencyType, validateDependency, type CreateDependencies, type CreateDependenciesContext, type RawProjectGraphDependency } from '@nx/devkit';
import {
  createGoModuleIndex,
  goImportDependencies,
  goModDependencies,
  goWorkDependencies,
  isGoSourceFile,
  type GoDependencyEdge,
  type WorkspaceGoModule,
} from '../core/go-dependencies';
import { normalizeWorkspacePath, type ProjectRoot } from '../core/workspace-paths';
import { parseGoImports } from '../core/go-imports';
import { parseGoMod, parseGoWork, type GoModFile } from '../core/go-module';
import { normalizePluginOptions, type PodmanPluginOptions } from './plugin-options';

/** Reads a workspace file, or undefined when it vanished since Nx listed it. */
function readWorkspaceFile(workspaceRoot: string, file: string): string | undefined {
  try {
    return readFileSync(join(workspaceRoot, file), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const goModPathOf = (root: string) => (normalizeWorkspacePath(root) === '.' ? 'go.mod' : `${normalizeWorkspacePath(root)}/go.mod`);

/** The workspace's Go modules: every project with a go.mod at its root, parsed. Unreadable ones are left out (createNodes reports them). */
function readWorkspaceModules(context: CreateDependenciesContext, projects: readonly ProjectRoot[]): Map<string, GoModFile> {
  const modules = new Map<string, GoModFile>();
  for (const { name, root } of projects) {
    const file = goModPathOf(root);
    if (!context.fileMap.projectFileMap[name]?.some((data) => data.file === file)) continue;
    const text = readWorkspaceFile(context.workspaceRoot, file);
    if (text === undefined) continue;
    try {
      modules.set(name, parseGoMod(text, file));
    } catch {
      // createNodes already failed for this go.mod with its file:line; one report is enough.
    }
  }
  return modules;
}

/**
 * Static edges between Go projects, from the files Nx asks about (`filesToProcess`): go.mod `require`/`replace`
 * (local directories), `.go` imports mapped to the project owning the package (longest module path), and `use`
 * directives of a go.work inside a project. Needs no Go toolchain.
 */
export const createDependencies: CreateDependencies<PodmanPluginOptions> = (rawOptions, context) => {
  const options = normalizePluginOptions(rawOptions);
  const projects: ProjectRoot[] = Object.entries(context.projects).map(([name, project]) => ({ name, root: project.root }));
  const roots = new Map(projects.map(({ name, root }) => [name, normalizeWorkspacePath(root)]));
  const goMods = readWorkspaceModules(context, projects);
  const index = createGoModuleIndex([...goMods].map(([project, goMod]): WorkspaceGoModule => ({ project, modulePath: goMod.module })));

  const edges: GoDependencyEdge[] = [];
  for (const [source, files] of Object.entries(context.filesToProcess.projectFileMap)) {
    const root = roots.get(source);
    if (root === undefined) continue;
    for (const { file } of files) {
      const edgeContext = { source, sourceFile: file, projects };
      const name = posix.basename(file);
      if (file === goModPathOf(root)) {
        const goMod = goMods.get(source);
        if (goMod) edges.push(...goModDependencies(goMod, index, edgeContext));
      } else if (name === 'go.work') {
        const text = readWorkspaceFile(context.workspaceRoot, file);
        if (text !== undefined) edges.push(...goWorkDependencies(parseGoWork(text, file), edgeContext));
      } else if (isGoSourceFile(posix.relative(root === '.' ? '' : root, file), options.includeTestImports)) {
        const text = readWorkspaceFile(context.workspaceRoot, file);
        if (text !== undefined) edges.push(...goImportDependencies(parseGoImports(text).imports, index, edgeContext));
      }
    }
  }

  return edges.map(({ source, target, sourceFile }) => {
    const dependency: RawProjectGraphDependency = { source, target, sourceFile, type: DependencyType.static };
    validateDependency(dependency, context);
    return dependency;
  });
};
