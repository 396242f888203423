import { parseGoImports } from './go-imports';

const paths = (text: string) => parseGoImports(text).imports.map((spec) => spec.path);

describe('parseGoImports', () => {
  it.each([
    { title: 'single import', text: 'package main\n\nimport "prism/core"\n', expected: ['prism/core'] },
    {
      title: 'grouped imports',
      text: 'package main\n\nimport (\n\t"fmt"\n\t"net/http"\n\n\t"prism/core/health"\n)\n\nfunc main() {}\n',
      expected: ['fmt', 'net/http', 'prism/core/health'],
    },
    {
      title: 'several import declarations, single and grouped mixed',
      text: 'package main\nimport "fmt"\nimport (\n\t"os"\n)\nimport "prism/core"\n',
      expected: ['fmt', 'os', 'prism/core'],
    },
    {
      title: 'semicolon-separated specs and declarations on one line',
      text: 'package main; import "a"; import ("b"; "c")\n',
      expected: ['a', 'b', 'c'],
    },
    { title: 'raw string import path', text: 'package main\nimport `prism/core`\n', expected: ['prism/core'] },
    {
      title: 'an escaped character in an import path',
      text: 'package main\nimport "prism/\\x63ore"\n',
      expected: ['prism/core'],
    },
    {
      title: 'build tags and a license comment before the package clause',
      text: '//go:build linux && !race\n// +build linux,!race\n\n/* Copyright\n   import "not/this" */\npackage main\n\nimport "prism/core"\n',
      expected: ['prism/core'],
    },
    {
      title: 'comments that look like imports',
      text: 'package main\n\n// import "commented/out"\n/* import "block/comment"\n*/\nimport (\n\t// "inside/group"\n\t"fmt" /* "after/spec" */\n)\n',
      expected: ['fmt'],
    },
    {
      title: 'strings and raw strings after the imports that look like imports',
      text: 'package main\n\nimport "fmt"\n\nconst doc = `\nimport "raw/string"\n`\nvar s = "import \\"quoted/string\\""\n\nfunc f() {\n\t_ = \'i\'\n}\n\nimport "after/decls"\n',
      expected: ['fmt'],
    },
    { title: 'no imports', text: 'package core\n\nfunc Version() string { return "import \\"x\\"" }\n', expected: [] },
    { title: 'no package clause', text: 'import "x"\n', expected: [] },
    { title: 'empty file', text: '', expected: [] },
    { title: 'cgo pseudo-import is just a path', text: 'package main\n\n// #include <stdio.h>\nimport "C"\n', expected: ['C'] },
    {
      title: 'a file being edited: unterminated group keeps what was read',
      text: 'package main\nimport (\n\t"fmt"\n\t"prism/co',
      expected: ['fmt'],
    },
    { title: 'byte order mark', text: '\uFEFFpackage main\nimport "prism/core"\n', expected: ['prism/core'] },
  ])('$title', ({ text, expected }) => {
    expect(paths(text)).toEqual(expected);
  });

  it('keeps aliases, dot and blank imports with their lines', () => {
    const text = [
      'package main', //                         1
      '',
      'import (',
      '\tcore "prism/core"', //                  4
      '\t. "prism/core/dsl"', //                 5
      '\t_ "prism/core/driver"', //              6
      '\t"fmt"', //                              7
      ')',
      'import h "net/http"', //                  9
    ].join('\n');
    expect(parseGoImports(text)).toEqual({
      packageName: 'main',
      imports: [
        { path: 'prism/core', name: 'core', line: 4 },
        { path: 'prism/core/dsl', name: '.', line: 5 },
        { path: 'prism/core/driver', name: '_', line: 6 },
        { path: 'fmt', line: 7 },
        { path: 'net/http', name: 'h', line: 9 },
      ],
    });
  });

  it('reports the build constraint and ignores one after the package clause', () => {
    expect(parseGoImports('//go:build ignore\n\npackage tools\nimport _ "prism/core"\n')).toEqual({
      packageName: 'tools',
      buildConstraint: 'ignore',
      imports: [{ path: 'prism/core', name: '_', line: 4 }],
    });
    expect(parseGoImports('package main\n//go:build linux\nimport "a"\n').buildConstraint).toBeUndefined();
  });

  it('counts lines across multi-line comments and raw strings', () => {
    const text = 'package main\n/*\n\n*/\nimport (\n\t"a"\n\n\t`b`\n)\n';
    expect(parseGoImports(text).imports).toEqual([
      { path: 'a', line: 6 },
      { path: 'b', line: 8 },
    ]);
  });
});
