import { affectedProjects, dependencyClosure, dependentClosure, findOwningProject } from './affected-projects';

const projects = {
  core: { root: 'plugins/core' },
  postgres: { root: 'plugins/postgres' },
  'postgres-ext': { root: 'plugins/postgres-ext' },
  kafka: { root: 'plugins/kafka' },
  nested: { root: 'plugins/kafka/nested' },
  workspace: { root: '.' },
};
// kafka depends on core and on redis-client, which depends on core: a diamond.
const dependencies = {
  postgres: ['core'],
  'postgres-ext': ['postgres'],
  kafka: ['core', 'redis-client'],
  'redis-client': ['core'],
  nested: [],
  core: [],
};

describe('findOwningProject', () => {
  it.each([
    ['plugins/core/core.go', 'core'],
    ['plugins/postgres/main.go', 'postgres'],
    ['plugins/postgres-ext/main.go', 'postgres-ext'],
    ['plugins/kafka/nested/x.go', 'nested'],
    ['plugins/kafka/x.go', 'kafka'],
    ['plugins/go.work', 'workspace'],
    ['plugins/core', 'core'],
  ])('%s belongs to %s', (file, owner) => {
    expect(findOwningProject(file, projects)).toBe(owner);
  });

  it('is undefined outside every project', () => {
    expect(findOwningProject('tools/x.go', { core: { root: 'plugins/core' } })).toBeUndefined();
  });
});

describe('closures', () => {
  it('dependencyClosure follows edges transitively', () => {
    expect([...dependencyClosure(['kafka'], dependencies)].sort()).toEqual(['core', 'kafka', 'redis-client']);
  });
  it('dependentClosure follows reverse edges transitively, each project once', () => {
    expect([...dependentClosure('core', dependencies)].sort()).toEqual(['core', 'kafka', 'postgres', 'postgres-ext', 'redis-client']);
  });
});

describe('affectedProjects (semantic 1)', () => {
  const buildable = new Set(['postgres', 'postgres-ext', 'kafka']);
  it.each<[string, string[]]>([
    ['core', ['kafka', 'postgres', 'postgres-ext']],
    ['postgres', ['postgres', 'postgres-ext']],
    ['postgres-ext', ['postgres-ext']],
    ['redis-client', ['kafka']],
    ['nested', []],
  ])('a change to %s affects %j', (owner, expected) => {
    expect(affectedProjects(owner, dependencies, buildable)).toEqual(expected);
  });

  it('never includes a project without the build target, even the changed one (core)', () => {
    expect(affectedProjects('core', dependencies, new Set(['postgres']))).toEqual(['postgres']);
  });

  it('only counts selected projects', () => {
    expect(affectedProjects('core', dependencies, new Set(['kafka']))).toEqual(['kafka']);
  });
});
