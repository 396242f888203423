import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/**
 * The layer rules of docs/architecture.md, checked on the source text (after chokidar's architecture test):
 * core is pure, adapters are the only code that touches the world, executors/generators/plugins are glue.
 */
const SRC = __dirname;
const MAX_LINES = 400;
/** A long file says why in its first lines. */
const LENGTH_REASON = 'Why this file is long:';
/** A function over this many lines says why in the comment above it. */
const MAX_FUNCTION_LINES = 120;
const FUNCTION_REASON = 'Why this function is long:';

/** Every function with a body over {@link MAX_FUNCTION_LINES} lines: `path name` and its length. */
function longFunctions(file: SourceFile): { key: string; lines: number; reasoned: boolean }[] {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true);
  const found: { key: string; lines: number; reasoned: boolean }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const lines = source.getLineAndCharacterOfPosition(node.end).line - first + 1;
      if (lines > MAX_FUNCTION_LINES) {
        const name =
          node.name && ts.isIdentifier(node.name) ? node.name.text : ts.isVariableDeclaration(node.parent) ? node.parent.name.getText() : '(anonymous)';
        const comments = ts.getLeadingCommentRanges(file.text, node.getFullStart()) ?? [];
        const statement = ts.isVariableDeclaration(node.parent) ? node.parent.parent.parent : node;
        const above = [...comments, ...(ts.getLeadingCommentRanges(file.text, statement.getFullStart()) ?? [])];
        found.push({ key: `${file.path} ${name}`, lines, reasoned: above.some((range) => file.text.slice(range.pos, range.end).includes(FUNCTION_REASON)) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

interface SourceFile {
  path: string;
  text: string;
  imports: string[];
}

function listSources(dir: string): SourceFile[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listSources(path);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) return [];
    const text = readFileSync(path, 'utf8');
    const imports = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((match) => match[1]);
    return [{ path: relative(SRC, path).split('\\').join('/'), text, imports }];
  });
}

const files = listSources(SRC);
const isSpec = (file: SourceFile) => /\.spec\.ts$/.test(file.path);
const layer = (file: SourceFile) => file.path.split('/')[0];

/** Node modules that do I/O (or hide it); core may use node:path and node:crypto only. */
const IO_MODULES = /^(node:)?(fs|fs\/promises|child_process|net|http|https|http2|os|dgram|dns|tls|worker_threads|cluster|readline|process)$/;
const WORLD_PACKAGES = /^(chokidar|execa|@grpc\/grpc-js|@nx\/devkit|nx)(\/|$)/;

describe('architecture', () => {
  it('finds the sources', () => {
    expect(files.filter((file) => layer(file) === 'core').length).toBeGreaterThan(10);
  });

  it('core imports nothing from adapters, executors, generators, plugins or testing, and no I/O module', () => {
    const offending = files
      .filter((file) => layer(file) === 'core' && !isSpec(file))
      .flatMap((file) =>
        file.imports
          .filter((spec) => /^\.\.\/(adapters|executors|generators|plugins|testing)\//.test(spec) || IO_MODULES.test(spec) || WORLD_PACKAGES.test(spec))
          .map((spec) => `${file.path} imports ${spec}`),
      );
    expect(offending).toEqual([]);
  });

  it('adapters import no executor, generator or plugin code', () => {
    const offending = files
      .filter((file) => layer(file) === 'adapters')
      .flatMap((file) => file.imports.filter((spec) => /^\.\.\/(executors|generators|plugins)\//.test(spec)).map((spec) => `${file.path} imports ${spec}`));
    expect(offending).toEqual([]);
  });

  it('runners (run-*.ts and the watch units) take ports: they import adapters only for defaults, never an adapter type', () => {
    const offending = files
      .filter((file) => layer(file) === 'executors' && !isSpec(file))
      .flatMap((file) =>
        [...file.text.matchAll(/^import type \{[^}]*\} from '(\.\.\/\.\.\/adapters\/[^']+)'/gm)].map((match) => `${file.path} imports types from ${match[1]}`),
      );
    expect(offending).toEqual([]);
  });

  it('no function core exports is written again outside core (generators and plugins use core helpers)', () => {
    const coreFunctions = new Set(
      files
        .filter((file) => layer(file) === 'core' && !isSpec(file))
        .flatMap((file) => [...file.text.matchAll(/^export function (\w+)/gm)].map((match) => match[1])),
    );
    const copies = files
      .filter((file) => layer(file) !== 'core' && !isSpec(file))
      .flatMap((file) =>
        [...file.text.matchAll(/^(?:export )?function (\w+)/gm)].filter((match) => coreFunctions.has(match[1])).map((match) => `${file.path}: ${match[1]}`),
      );
    expect(copies).toEqual([]);
  });

  it(`no file over ${MAX_LINES} lines without "${LENGTH_REASON}" in its first lines`, () => {
    const long = files
      .filter((file) => file.text.split('\n').length > MAX_LINES && !file.text.split('\n').slice(0, 5).join('\n').includes(LENGTH_REASON))
      .map((file) => `${file.path} (${file.text.split('\n').length} lines)`);
    expect(long).toEqual([]);
  });

  it(`no function over ${MAX_FUNCTION_LINES} lines without "${FUNCTION_REASON}" above it`, () => {
    const found = files.filter((file) => !isSpec(file)).flatMap(longFunctions);
    const offending = found.filter((entry) => !entry.reasoned).map((entry) => `${entry.key} (${entry.lines} lines)`);
    expect(offending).toEqual([]);
  });

  it('only core/watch-state.ts writes the watch state: its records are not exported, no other file sets their fields, the scheduler and the lifecycle keep no per-project collections', () => {
    const stateFile = files.find((file) => file.path === 'core/watch-state.ts')!;
    expect(stateFile.text).toMatch(/^interface Entry \{/m);
    const fields =
      'pendingFiles|heldFiles|pendingUntil|history|liveUpdated|windowFiles|queuedFiles|dirtyFiles|dirtyReason|queuedReason|phaseAt|containerHealthy|firstChangeAt';
    const write = new RegExp(`\\.(${fields})\\s*(=[^=>]|\\.(push|splice|add|delete|clear)\\()`);
    const writers = files.filter((file) => !isSpec(file) && file !== stateFile && write.test(file.text)).map((file) => file.path);
    expect(writers).toEqual([]);
    const units = ['core/reload-scheduler.ts', 'executors/watch-reload/run-watch-reload.ts'];
    const copies = files.filter((file) => units.includes(file.path) && /new (Map|Set)\b/.test(file.text)).map((file) => file.path);
    expect(copies).toEqual([]);
  });
});
