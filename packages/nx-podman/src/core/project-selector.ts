import picomatch from 'picomatch';
import type { WorkspaceProject } from './workspace-graph';

/** What a list of project selectors picked. */
export interface ProjectSelection {
  /** Selected project names, sorted. */
  selected: string[];
  /** Plain names (no glob, no `tag:`) that matched no project: a typo the caller should report. */
  unknownNames: string[];
}

const isGlob = (pattern: string) => /[*?[\]{}!]/.test(pattern);

/**
 * Selects projects the way `nx run-many --projects` does: exact names, globs on names (`plugin-*`), `tag:` selectors
 * with globs on tags (`tag:plugin`, `tag:scope:*`) and exclusions with a leading `!` (`!tag:experimental`).
 * Only exclusions means "every project except".
 */
export function selectProjects(patterns: readonly string[], projects: Readonly<Record<string, Pick<WorkspaceProject, 'name' | 'tags'>>>): ProjectSelection {
  const names = Object.keys(projects).sort();
  const includes = patterns.filter((pattern) => !pattern.startsWith('!'));
  const excludes = patterns.filter((pattern) => pattern.startsWith('!')).map((pattern) => pattern.slice(1));
  const matcher = (pattern: string): ((name: string) => boolean) => {
    if (pattern.startsWith('tag:')) {
      const isTag = picomatch(pattern.slice(4));
      return (name) => projects[name].tags.some((tag) => isTag(tag));
    }
    if (isGlob(pattern)) return picomatch(pattern);
    return (name) => name === pattern;
  };
  const unknownNames = includes.filter((pattern) => !pattern.startsWith('tag:') && !isGlob(pattern) && !(pattern in projects));
  const included = includes.length === 0 ? names : names.filter((name) => includes.some((pattern) => matcher(pattern)(name)));
  const excluders = excludes.map(matcher);
  return { selected: included.filter((name) => !excluders.some((excluded) => excluded(name))), unknownNames };
}
