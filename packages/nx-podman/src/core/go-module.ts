/** A `require` line of a go.mod. */
export interface GoRequire {
  /** Module path, e.g. `prism/core`. */
  path: string;
  version: string;
  /** True when marked `// indirect`. */
  indirect: boolean;
  /** 1-based line in the go.mod. */
  line: number;
}

/** A `replace` line of a go.mod or go.work. */
export interface GoReplace {
  /** The module path being replaced. */
  path: string;
  /** Version on the left side, when the replacement applies to one version only. */
  version?: string;
  /** Local directory (as written, relative to the file's directory or absolute) when the right side is a file path. */
  localDir?: string;
  /** Replacement module path and version when the right side is a module, not a directory. */
  module?: { path: string; version: string };
  line: number;
}

/** What the graph needs from a go.mod, read without the Go toolchain. */
export interface GoModFile {
  /** The `module` path; every go.mod has exactly one. */
  module: string;
  /** The `go` directive, when present. */
  goVersion?: string;
  requires: GoRequire[];
  replaces: GoReplace[];
}

/** A `use` line of a go.work. */
export interface GoWorkUse {
  /** Directory as written (relative to the go.work's directory, or absolute). */
  dir: string;
  line: number;
}

/** What the graph needs from a go.work. */
export interface GoWorkFile {
  goVersion?: string;
  uses: GoWorkUse[];
  replaces: GoReplace[];
}

/** A go.mod/go.work that cannot be read; the message leads with `file:line`. */
export class GoModParseError extends Error {
  constructor(
    /** Workspace-relative (or as given) path of the file. */
    readonly file: string,
    /** 1-based line of the problem. */
    readonly line: number,
    /** What is wrong, without the location. */
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'GoModParseError';
  }
}

interface Token {
  text: string;
  /** Quoted tokens are never directives, parentheses or arrows. */
  quoted: boolean;
}

interface Statement {
  /** Directive keyword; for lines inside a block, the block's keyword. */
  verb: string;
  args: Token[];
  /** Text of a trailing `//` comment (used for `// indirect`). */
  comment: string;
  line: number;
}

/** Splits one line into tokens and its trailing comment, following the go.mod lexical rules (`//` comments, "..." and `...` strings). */
function tokenizeLine(raw: string, file: string, line: number): { tokens: Token[]; comment: string } {
  const tokens: Token[] = [];
  let i = 0;
  while (i < raw.length) {
    const c = raw[i];
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (raw.startsWith('//', i)) {
      return { tokens, comment: raw.slice(i + 2).trim() };
    } else if (c === '(' || c === ')') {
      tokens.push({ text: c, quoted: false });
      i++;
    } else if (raw.startsWith('=>', i)) {
      tokens.push({ text: '=>', quoted: false });
      i += 2;
    } else if (c === '"') {
      let j = i + 1;
      let value = '';
      while (j < raw.length && raw[j] !== '"') {
        if (raw[j] === '\\' && j + 1 < raw.length) {
          value += raw[j + 1];
          j += 2;
        } else value += raw[j++];
      }
      if (j >= raw.length) throw new GoModParseError(file, line, 'unterminated quoted string');
      tokens.push({ text: value, quoted: true });
      i = j + 1;
    } else if (c === '`') {
      const end = raw.indexOf('`', i + 1);
      if (end < 0) throw new GoModParseError(file, line, 'unterminated raw string');
      tokens.push({ text: raw.slice(i + 1, end), quoted: true });
      i = end + 1;
    } else {
      let j = i;
      while (j < raw.length && !/[\s()"`]/.test(raw[j]) && !raw.startsWith('//', j) && !raw.startsWith('=>', j)) j++;
      tokens.push({ text: raw.slice(i, j), quoted: false });
      i = j;
    }
  }
  return { tokens, comment: '' };
}

const isPunct = (token: Token | undefined, text: string) => token !== undefined && !token.quoted && token.text === text;

/** Turns the file into statements, expanding `verb ( ... )` blocks into one statement per line. */
function statements(text: string, file: string): Statement[] {
  const result: Statement[] = [];
  let block: { verb: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const { tokens, comment } = tokenizeLine(raw, file, line);
    if (tokens.length === 0) return;
    if (block) {
      if (isPunct(tokens[0], ')')) {
        if (tokens.length > 1) throw new GoModParseError(file, line, `unexpected "${tokens[1].text}" after ")"`);
        block = undefined;
        return;
      }
      if (tokens.some((token) => isPunct(token, '(') || isPunct(token, ')'))) {
        throw new GoModParseError(file, line, `unexpected parenthesis inside the ${block.verb} block`);
      }
      result.push({ verb: block.verb, args: tokens, comment, line });
      return;
    }
    if (tokens[0].quoted || isPunct(tokens[0], '(') || isPunct(tokens[0], ')') || isPunct(tokens[0], '=>')) {
      throw new GoModParseError(file, line, `unexpected "${tokens[0].text}", expected a directive such as module, require or replace`);
    }
    const verb = tokens[0].text;
    if (isPunct(tokens[1], '(')) {
      // `require ()` is an empty block, which the go command accepts.
      if (tokens.length === 3 && isPunct(tokens[2], ')')) return;
      if (tokens.length > 2) throw new GoModParseError(file, line, `unexpected "${tokens[2].text}" after "${verb} ("`);
      block = { verb, line };
      return;
    }
    if (tokens.slice(1).some((token) => isPunct(token, '(') || isPunct(token, ')'))) {
      throw new GoModParseError(file, line, `unexpected parenthesis in the ${verb} directive`);
    }
    result.push({ verb, args: tokens.slice(1), comment, line });
  });
  if (block) throw new GoModParseError(file, block.line, `the ${block.verb} block opened here is never closed with ")"`);
  return result;
}

/** A replacement target is a directory when it is a relative (`./`, `../`) or absolute path, as the go command decides. */
function isLocalPath(path: string): boolean {
  return (
    path === '.' ||
    path === '..' ||
    path.startsWith('./') ||
    path.startsWith('../') ||
    path.startsWith('/') ||
    /^[A-Za-z]:[\\/]/.test(path) ||
    path.startsWith('.\\') ||
    path.startsWith('..\\')
  );
}

/** Argument texts (parentheses were already rejected by {@link statements}). */
function argText(args: Token[]): string[] {
  return args.map((arg) => arg.text);
}

function parseReplace(statement: Statement, file: string): GoReplace {
  const { line } = statement;
  const arrow = statement.args.findIndex((arg) => isPunct(arg, '=>'));
  const usage = 'expected "replace module [version] => directory" or "replace module [version] => module version"';
  if (arrow < 0) throw new GoModParseError(file, line, `replace: missing "=>"; ${usage}`);
  const left = argText(statement.args.slice(0, arrow));
  const right = argText(statement.args.slice(arrow + 1));
  if (left.length < 1 || left.length > 2 || right.length < 1 || right.length > 2 || right.includes('=>')) {
    throw new GoModParseError(file, line, `replace: ${usage}`);
  }
  const replace: GoReplace = { path: left[0], line, ...(left[1] ? { version: left[1] } : {}) };
  if (isLocalPath(right[0])) {
    if (right.length > 1) throw new GoModParseError(file, line, `replace: a directory replacement ("${right[0]}") takes no version`);
    return { ...replace, localDir: right[0] };
  }
  if (right.length !== 2) {
    throw new GoModParseError(file, line, `replace: "${right[0]}" is neither a directory (start it with ./ or ../) nor "module version"`);
  }
  return { ...replace, module: { path: right[0], version: right[1] } };
}

/**
 * Parses a go.mod without the Go toolchain: module, go, require and replace (single-line and block forms).
 * Unknown directives (toolchain, exclude, retract, godebug, tool, ...) are skipped so newer go.mod files still read.
 * Throws {@link GoModParseError} naming `file:line` for malformed input.
 */
export function parseGoMod(text: string, file = 'go.mod'): GoModFile {
  let module: string | undefined;
  let goVersion: string | undefined;
  const requires: GoRequire[] = [];
  const replaces: GoReplace[] = [];
  for (const statement of statements(text, file)) {
    const { verb, line } = statement;
    if (verb === 'module') {
      const args = argText(statement.args);
      if (args.length !== 1) throw new GoModParseError(file, line, 'module: expected exactly one module path, e.g. "module prism/postgres"');
      if (module !== undefined) throw new GoModParseError(file, line, 'module: repeated module directive');
      module = args[0];
    } else if (verb === 'go') {
      const args = argText(statement.args);
      if (args.length !== 1) throw new GoModParseError(file, line, 'go: expected one version, e.g. "go 1.19"');
      goVersion = args[0];
    } else if (verb === 'require') {
      const args = argText(statement.args);
      if (args.length !== 2 || args.includes('=>')) {
        throw new GoModParseError(file, line, 'require: expected "module version", e.g. "require prism/core v0.0.0"');
      }
      requires.push({ path: args[0], version: args[1], indirect: /^indirect\b/.test(statement.comment), line });
    } else if (verb === 'replace') {
      replaces.push(parseReplace(statement, file));
    }
  }
  if (module === undefined) throw new GoModParseError(file, 1, 'no module directive; add one, e.g. "module prism/postgres"');
  return { module, ...(goVersion ? { goVersion } : {}), requires, replaces };
}

/** Parses a go.work: go, use (single-line and block forms) and replace. Same errors as {@link parseGoMod}. */
export function parseGoWork(text: string, file = 'go.work'): GoWorkFile {
  let goVersion: string | undefined;
  const uses: GoWorkUse[] = [];
  const replaces: GoReplace[] = [];
  for (const statement of statements(text, file)) {
    const { verb, line } = statement;
    if (verb === 'go') {
      const args = argText(statement.args);
      if (args.length !== 1) throw new GoModParseError(file, line, 'go: expected one version, e.g. "go 1.19"');
      goVersion = args[0];
    } else if (verb === 'use') {
      const args = argText(statement.args);
      if (args.length !== 1) throw new GoModParseError(file, line, 'use: expected one directory, e.g. "use ./plugins/core"');
      uses.push({ dir: args[0], line });
    } else if (verb === 'replace') {
      replaces.push(parseReplace(statement, file));
    }
  }
  return { ...(goVersion ? { goVersion } : {}), uses, replaces };
}
