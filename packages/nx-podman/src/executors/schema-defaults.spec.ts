import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PODMAN_BUILD_DEFAULTS } from './podman-build/normalize-options';
import { PODMAN_RUN_DEFAULTS } from './podman-run/normalize-options';
import { WATCH_RELOAD_DEFAULTS } from './watch-reload/normalize-options';

/** One source of truth: every `default` in an executor's schema.json is the value its normalizer applies. */
describe.each([
  ['podman-build', PODMAN_BUILD_DEFAULTS],
  ['podman-run', PODMAN_RUN_DEFAULTS],
  ['watch-reload', WATCH_RELOAD_DEFAULTS],
] as const)('%s schema.json defaults', (executor, defaults) => {
  const schema = JSON.parse(readFileSync(join(__dirname, executor, 'schema.json'), 'utf8')) as { properties: Record<string, { default?: unknown }> };
  const documented = Object.entries(schema.properties).filter(([, property]) => 'default' in property);

  it.each(documented)('"%s" equals the normalized default', (name, property) => {
    expect((defaults as Record<string, unknown>)[name]).toEqual(property.default);
  });

  it('documents every default the normalizer applies to a schema option', () => {
    const missing = Object.keys(defaults).filter((name) => name in schema.properties && !('default' in schema.properties[name]));
    expect(missing).toEqual([]);
  });
});
