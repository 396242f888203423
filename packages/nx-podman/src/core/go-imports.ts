/** One import spec of a Go file. */
export interface GoImport {
  /** The import path, unquoted, e.g. `prism/core/health`. */
  path: string;
  /** The local name when given: an identifier, `.` (dot import) or `_` (blank import). */
  name?: string;
  /** 1-based line of the path literal. */
  line: number;
}

/** The header of a Go source file: what comes before the first non-import declaration. */
export interface GoFileHeader {
  /** The package clause's name; undefined when the file has none (not valid Go, or empty). */
  packageName?: string;
  /** Expression of a `//go:build` line before the package clause, e.g. `linux && !race`. */
  buildConstraint?: string;
  imports: GoImport[];
}

type TokenKind = 'ident' | 'string' | 'rune' | 'punct' | 'eof';

interface Token {
  kind: TokenKind;
  /** Identifier text, the unquoted string value, or the punctuation character. */
  value: string;
  line: number;
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };

/**
 * A tiny Go lexer: enough of the language spec to walk a file's header without being fooled by comments, strings
 * or rune literals that contain the word `import`. Stateful cursor over one text; created per call.
 */
function createLexer(text: string) {
  let pos = 0;
  let line = 1;
  let buildConstraint: string | undefined;
  let seenToken = false;

  const advance = (count: number) => {
    for (let i = 0; i < count && pos < text.length; i++) {
      if (text[pos] === '\n') line++;
      pos++;
    }
  };

  /** Skips spaces and comments; records a `//go:build` line seen before the first token. */
  const skipTrivia = () => {
    while (pos < text.length) {
      const c = text[pos];
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\uFEFF') {
        advance(1);
      } else if (text.startsWith('//', pos)) {
        const end = text.indexOf('\n', pos);
        const comment = text.slice(pos, end < 0 ? text.length : end);
        const constraint = /^\/\/go:build\s+(.*?)\s*$/.exec(comment);
        if (constraint && !seenToken && buildConstraint === undefined) buildConstraint = constraint[1];
        advance(comment.length);
      } else if (text.startsWith('/*', pos)) {
        const end = text.indexOf('*/', pos + 2);
        advance(end < 0 ? text.length - pos : end + 2 - pos);
      } else {
        return;
      }
    }
  };

  /** Reads an interpreted string ("...") or rune ('...') literal; undefined when it is not terminated on its line. */
  const readQuoted = (quote: string): string | undefined => {
    let value = '';
    let i = pos + 1;
    while (i < text.length) {
      const c = text[i];
      if (c === quote) {
        advance(i + 1 - pos);
        return value;
      }
      if (c === '\n') return undefined;
      if (c === '\\') {
        const e = text[i + 1];
        if (e !== undefined && e in SIMPLE_ESCAPES) {
          value += SIMPLE_ESCAPES[e];
          i += 2;
        } else if (e === 'x' || e === 'u' || e === 'U') {
          const digits = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          value += String.fromCodePoint(parseInt(text.slice(i + 2, i + 2 + digits), 16) || 0);
          i += 2 + digits;
        } else if (e !== undefined && /[0-7]/.test(e)) {
          value += String.fromCharCode(parseInt(text.slice(i + 1, i + 4), 8) || 0);
          i += 4;
        } else {
          value += e ?? '';
          i += 2;
        }
      } else {
        value += c;
        i++;
      }
    }
    return undefined;
  };

  const next = (): Token => {
    skipTrivia();
    seenToken = true;
    const start = line;
    if (pos >= text.length) return { kind: 'eof', value: '', line: start };
    const c = text[pos];
    if (/[\p{L}_]/u.test(c)) {
      const match = /^[\p{L}\p{Nd}_]+/u.exec(text.slice(pos, pos + 256))!;
      advance(match[0].length);
      return { kind: 'ident', value: match[0], line: start };
    }
    if (c === '"' || c === "'") {
      const value = readQuoted(c);
      // An unterminated literal ends the header: the file is being edited, so use what was read so far.
      if (value === undefined) return { kind: 'eof', value: '', line: start };
      return { kind: c === '"' ? 'string' : 'rune', value, line: start };
    }
    if (c === '`') {
      const end = text.indexOf('`', pos + 1);
      if (end < 0) return { kind: 'eof', value: '', line: start };
      const value = text.slice(pos + 1, end).replace(/\r/g, '');
      advance(end + 1 - pos);
      return { kind: 'string', value, line: start };
    }
    advance(1);
    return { kind: 'punct', value: c, line: start };
  };

  return { next, buildConstraint: () => buildConstraint };
}

/**
 * Reads the package clause, build constraint and import declarations of a Go source file: single, grouped, aliased,
 * dot and blank imports and several import declarations. Comments and strings never count as imports, and reading
 * stops at the first declaration that is not an import, as in Go. Never throws: a file that is mid-edit yields the
 * imports read up to the first syntax problem.
 */
export function parseGoImports(text: string): GoFileHeader {
  const lexer = createLexer(text);
  const imports: GoImport[] = [];
  const header = (packageName?: string): GoFileHeader => {
    const buildConstraint = lexer.buildConstraint();
    return { ...(packageName ? { packageName } : {}), ...(buildConstraint ? { buildConstraint } : {}), imports };
  };

  let token = lexer.next();
  if (token.kind !== 'ident' || token.value !== 'package') return header();
  token = lexer.next();
  if (token.kind !== 'ident') return header();
  const packageName = token.value;

  /** Reads `[name] "path"` starting at `first`; returns false on anything else. */
  const readSpec = (first: Token): boolean => {
    let name: string | undefined;
    let current = first;
    if (current.kind === 'ident' || (current.kind === 'punct' && current.value === '.')) {
      name = current.value;
      current = lexer.next();
    }
    if (current.kind !== 'string') return false;
    imports.push({ path: current.value, ...(name ? { name } : {}), line: current.line });
    return true;
  };

  token = lexer.next();
  for (;;) {
    while (token.kind === 'punct' && token.value === ';') token = lexer.next();
    if (token.kind !== 'ident' || token.value !== 'import') break;
    token = lexer.next();
    if (token.kind === 'punct' && token.value === '(') {
      for (token = lexer.next(); !(token.kind === 'punct' && token.value === ')'); token = lexer.next()) {
        if (token.kind === 'punct' && token.value === ';') continue;
        if (!readSpec(token)) return header(packageName);
      }
    } else if (!readSpec(token)) {
      break;
    }
    token = lexer.next();
  }
  return header(packageName);
}
