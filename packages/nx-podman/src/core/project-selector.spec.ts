import { selectProjects } from './project-selector';

const projects = {
  core: { name: 'core', tags: ['go', 'lib'] },
  postgres: { name: 'postgres', tags: ['go', 'plugin', 'scope:db'] },
  kafka: { name: 'kafka', tags: ['go', 'plugin', 'scope:queue'] },
  redis: { name: 'redis', tags: ['go', 'plugin', 'scope:db', 'experimental'] },
  'plugin-tools': { name: 'plugin-tools', tags: [] },
};

describe('selectProjects', () => {
  it.each<[string[], string[]]>([
    [['postgres'], ['postgres']],
    [
      ['postgres', 'kafka'],
      ['kafka', 'postgres'],
    ],
    [['tag:plugin'], ['kafka', 'postgres', 'redis']],
    [['tag:scope:*'], ['kafka', 'postgres', 'redis']],
    [['tag:scope:db'], ['postgres', 'redis']],
    [
      ['tag:plugin', '!tag:experimental'],
      ['kafka', 'postgres'],
    ],
    [['plugin-*'], ['plugin-tools']],
    [['*'], ['core', 'kafka', 'plugin-tools', 'postgres', 'redis']],
    [
      ['!core', '!plugin-*'],
      ['kafka', 'postgres', 'redis'],
    ],
    [['tag:nothing'], []],
  ])('%j selects %j', (patterns, expected) => {
    expect(selectProjects(patterns, projects)).toEqual({ selected: expected, unknownNames: [] });
  });

  it('reports plain names that match nothing (a typo), but not empty globs or tags', () => {
    expect(selectProjects(['postgre', 'tag:none', 'x-*'], projects)).toEqual({ selected: [], unknownNames: ['postgre'] });
  });
});
