// Three layers, selectable with `--selectProjects`:
//   unit         pure core, executors and generators with fakes of our own ports (no podman, no fs watchers)
//   integration  adapters against the real thing: real child processes, real fs events, real podman
//   e2e          a fresh Nx workspace with the packed plugin installed, real podman and real Go builds
const preset = require('./jest.preset.js');

module.exports = {
  projects: [
    {
      ...preset,
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: ['<rootDir>/packages/*/src/**/*.spec.ts'],
      testPathIgnorePatterns: ['\\.int\\.spec\\.ts$', '/node_modules/', '/dist/'],
    },
    {
      ...preset,
      displayName: 'integration',
      rootDir: __dirname,
      testMatch: ['<rootDir>/packages/*/src/**/*.int.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/'],
      setupFilesAfterEnv: ['<rootDir>/tools/jest-slow-timeout.js'],
    },
    {
      ...preset,
      displayName: 'e2e',
      rootDir: __dirname,
      testMatch: ['<rootDir>/e2e/**/*.e2e.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
      globalSetup: '<rootDir>/e2e/utils/global-setup.ts',
      setupFilesAfterEnv: ['<rootDir>/tools/jest-slow-timeout.js'],
    },
  ],
};
