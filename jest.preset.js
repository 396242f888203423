// Shared Jest settings: TypeScript through @swc/jest, and the ESM-only runtime dependencies (execa 9, chokidar 5
// and their own dependencies) transformed to CommonJS so that adapter integration tests can load the real thing.
const esmOnly = [
  'execa',
  'chokidar',
  'readdirp',
  '@sindresorhus',
  'is-plain-obj',
  'is-stream',
  'is-unicode-supported',
  'npm-run-path',
  'unicorn-magic',
  'path-key',
  'strip-final-newline',
  'get-stream',
  'human-signals',
  'figures',
  'yoctocolors',
  'pretty-ms',
  'parse-ms',
  '@sec-ant',
];

module.exports = {
  testEnvironment: 'node',
  resolver: require.resolve('./tools/jest-esm-resolver.js'),
  transform: {
    '^.+\\.[cm]?[tj]sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
};
