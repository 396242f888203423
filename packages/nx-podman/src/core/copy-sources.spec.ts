import { parseContainerfile } from './containerfile';
import { mapCopySource } from './copy-sources';
import { globsFromCopySources } from './file-filter';

/** Every COPY/ADD form, mapped to the workspace: context `plugins`, project `plugins/solo` unless a row says otherwise. */
describe('COPY/ADD sources → workspace paths (the issue 15 table)', () => {
  const inPlugins = { context: 'plugins', projectRoot: 'plugins/solo' };
  it.each([
    // [source, where, path, inProject, coversProject, isDirectory]
    ['solo/config.yaml', inPlugins, 'plugins/solo/config.yaml', 'config.yaml', false, false],
    ['./solo/config.yaml', inPlugins, 'plugins/solo/config.yaml', 'config.yaml', false, false],
    ['/solo/config.yaml', inPlugins, 'plugins/solo/config.yaml', 'config.yaml', false, false],
    ['solo/*.yaml', inPlugins, 'plugins/solo/*.yaml', '*.yaml', false, false],
    ['solo/conf/', inPlugins, 'plugins/solo/conf', 'conf', false, true],
    ['solo/', inPlugins, 'plugins/solo', '.', true, true],
    ['.', inPlugins, 'plugins', undefined, true, true],
    ['core/', inPlugins, 'plugins/core', undefined, false, true],
    ['core/go.mod', inPlugins, 'plugins/core/go.mod', undefined, false, false],
    ['config.yaml', { context: 'plugins/solo', projectRoot: 'plugins/solo' }, 'plugins/solo/config.yaml', 'config.yaml', false, false],
    ['.', { context: 'plugins/solo', projectRoot: 'plugins/solo' }, 'plugins/solo', '.', true, true],
    ['app.yaml', { context: '.', projectRoot: '.' }, 'app.yaml', 'app.yaml', false, false],
  ])('%s (context %o)', (source, where, path, inProject, coversProject, isDirectory) => {
    expect(mapCopySource(source, where)).toEqual({ path, inProject, coversProject, isDirectory });
  });

  it.each([['$SRC/main.go'], ['../outside.txt'], ['solo/../../x']])('%s cannot be mapped without building', (source) => {
    expect(mapCopySource(source, inPlugins)).toBeUndefined();
  });

  it.each([
    ['several sources', 'COPY solo/main.go solo/go.mod solo/config.yaml /src/solo/', ['solo/main.go', 'solo/go.mod', 'solo/config.yaml']],
    ['JSON form', 'COPY ["solo/config.yaml", "solo/a b.txt", "/etc/"]', ['solo/config.yaml', 'solo/a b.txt']],
    ['flags', 'COPY --chown=65532:0 --chmod=644 --link solo/config.yaml /etc/', ['solo/config.yaml']],
    ['flags then JSON', 'COPY --chown=65532 ["solo/config.yaml", "/etc/"]', ['solo/config.yaml']],
    ['ADD', 'ADD solo/static.tar /srv/', ['solo/static.tar']],
    ['ADD of a URL (not a context file)', 'ADD https://example.com/x.tar solo/y.tar /srv/', ['solo/y.tar']],
    ['--from= (another stage)', 'COPY --from=builder /out/plugin /plugin', []],
  ])('%s: %s', (_, line, sources) => {
    expect(parseContainerfile(`FROM scratch AS production\n${line}\n`).copies.flatMap((copy) => copy.sources)).toEqual(sources);
  });

  it('the solo example: every copied file maps into the project, and config.yaml triggers the watcher', () => {
    const copied = parseContainerfile('FROM scratch AS production\nCOPY solo/main.go solo/go.mod solo/config.yaml /src/solo/\n').copies.flatMap(
      (c) => c.sources,
    );
    expect(copied.map((source) => mapCopySource(source, inPlugins)?.inProject)).toEqual(['main.go', 'go.mod', 'config.yaml']);
    expect(globsFromCopySources(copied, { buildContext: 'plugins', projectRoot: 'plugins/solo' })).toContain('config.yaml');
  });
});
