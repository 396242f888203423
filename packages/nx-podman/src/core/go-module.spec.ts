import { GoModParseError, parseGoMod, parseGoWork } from './go-module';

describe('parseGoMod', () => {
  it.each([
    {
      title: 'module, go and single-line require/replace',
      text: 'module prism/postgres\n\ngo 1.19\n\nrequire prism/core v0.0.0\n\nreplace prism/core => ../core\n',
      expected: {
        module: 'prism/postgres',
        goVersion: '1.19',
        requires: [{ path: 'prism/core', version: 'v0.0.0', indirect: false, line: 5 }],
        replaces: [{ path: 'prism/core', localDir: '../core', line: 7 }],
      },
    },
    {
      title: 'require and replace blocks, comments, indirect, versioned and module replacements',
      text: [
        '// header comment',
        'module example.com/kafka // trailing',
        'require (',
        '  prism/core v0.0.0',
        '  // a comment line inside the block',
        '  example.com/util v1.2.3 // indirect',
        ')',
        'replace (',
        '  prism/core v0.0.0 => ./../core',
        '  example.com/util => example.com/fork v1.0.0',
        '  example.com/abs => /opt/src/abs',
        ')',
      ].join('\n'),
      expected: {
        module: 'example.com/kafka',
        requires: [
          { path: 'prism/core', version: 'v0.0.0', indirect: false, line: 4 },
          { path: 'example.com/util', version: 'v1.2.3', indirect: true, line: 6 },
        ],
        replaces: [
          { path: 'prism/core', version: 'v0.0.0', localDir: './../core', line: 9 },
          { path: 'example.com/util', module: { path: 'example.com/fork', version: 'v1.0.0' }, line: 10 },
          { path: 'example.com/abs', localDir: '/opt/src/abs', line: 11 },
        ],
      },
    },
    {
      title: 'quoted module path and CRLF line endings',
      text: 'module "prism/redis"\r\nrequire `prism/core` v0.0.0\r\nreplace "prism/core"=>"../core"\r\n',
      expected: {
        module: 'prism/redis',
        requires: [{ path: 'prism/core', version: 'v0.0.0', indirect: false, line: 2 }],
        replaces: [{ path: 'prism/core', localDir: '../core', line: 3 }],
      },
    },
    {
      title: 'unknown and newer directives are skipped',
      text: 'module m\ntoolchain go1.22.0\ngodebug (\n  default=go1.21\n)\nexclude x v1.0.0\nretract v1.0.1\ntool example.com/cmd\nrequire a v1\n',
      expected: { module: 'm', requires: [{ path: 'a', version: 'v1', indirect: false, line: 9 }], replaces: [] },
    },
    {
      title: 'empty blocks',
      text: 'module m\nrequire (\n)\nreplace ()\n',
      expected: { module: 'm', requires: [], replaces: [] },
    },
  ])('$title', ({ text, expected }) => {
    expect(parseGoMod(text, 'plugins/x/go.mod')).toEqual(expected);
  });

  it.each([
    { text: 'go 1.19\n', line: 1, reason: /no module directive/ },
    { text: 'module a\nmodule b\n', line: 2, reason: /repeated module/ },
    { text: 'module\n', line: 1, reason: /module: expected exactly one module path/ },
    { text: 'module m\n\nrequire prism/core\n', line: 3, reason: /require: expected "module version"/ },
    { text: 'module m\nreplace prism/core ../core\n', line: 2, reason: /replace: missing "=>"/ },
    { text: 'module m\nreplace prism/core =>\n', line: 2, reason: /replace: expected/ },
    { text: 'module m\nreplace prism/core => ../core v1.0.0\n', line: 2, reason: /directory replacement .* takes no version/ },
    { text: 'module m\nreplace prism/core => core\n', line: 2, reason: /neither a directory .* nor "module version"/ },
    { text: 'module m\nrequire (\n  a v1\n', line: 2, reason: /require block opened here is never closed/ },
    { text: 'module m\nrequire (\n  a v1 )\n)\n', line: 3, reason: /unexpected parenthesis/ },
    { text: 'module "m\n', line: 1, reason: /unterminated quoted string/ },
    { text: 'module m\n)\n', line: 2, reason: /unexpected "\)"/ },
  ])('reports file and line for malformed input: $text', ({ text, line, reason }) => {
    let error: unknown;
    try {
      parseGoMod(text, 'plugins/x/go.mod');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GoModParseError);
    const parseError = error as GoModParseError;
    expect(parseError.file).toBe('plugins/x/go.mod');
    expect(parseError.line).toBe(line);
    expect(parseError.reason).toMatch(reason);
    expect(parseError.message).toBe(`plugins/x/go.mod:${line}: ${parseError.reason}`);
  });
});

describe('parseGoWork', () => {
  it.each([
    {
      title: 'single-line use',
      text: 'go 1.19\nuse ./plugins/core\n',
      expected: { goVersion: '1.19', uses: [{ dir: './plugins/core', line: 2 }], replaces: [] },
    },
    {
      title: 'use block with comments and a replace',
      text: 'go 1.19\n\nuse (\n\t./plugins/core // shared\n\t"./plugins/postgres"\n)\nreplace example.com/x => ./third_party/x\n',
      expected: {
        goVersion: '1.19',
        uses: [
          { dir: './plugins/core', line: 4 },
          { dir: './plugins/postgres', line: 5 },
        ],
        replaces: [{ path: 'example.com/x', localDir: './third_party/x', line: 7 }],
      },
    },
  ])('$title', ({ text, expected }) => {
    expect(parseGoWork(text)).toEqual(expected);
  });

  it('reports a use with two directories at its line', () => {
    expect(() => parseGoWork('go 1.19\nuse ./a ./b\n', 'go.work')).toThrow('go.work:2: use: expected one directory');
  });
});
