// ESLint (flat config): typescript-eslint's recommended rules on the plugin, the tests and the scripts. Formatting is
// Prettier's (`.prettierrc.json`); `npm test` runs both before the unit tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'AbortController',
    'AbortSignal',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'fetch',
    'performance',
    'TextDecoder',
    'TextEncoder',
    '__dirname',
    'require',
    'module',
    'structuredClone',
    'queueMicrotask',
  ].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'tmp/**', 'bench-results/**', 'demo-workspace/**', 'packages/nx-podman/src/generators/*/files/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: nodeGlobals },
    rules: {
      // A variable a closure reads before its single assignment (the watcher, created after the router that feeds it).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `_`-prefixed names are deliberately unused (destructuring a field away, a callback's position).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // The status page's script runs in the browser, as a classic script.
    files: ['packages/nx-podman/src/adapters/status-page/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['document', 'location', 'URLSearchParams', 'EventSource', 'fetch', 'alert', 'CSS', 'setInterval', 'Date'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // Scripts and Jest config are plain Node: CommonJS config files use require().
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
