import { execFileSync } from 'node:child_process';
import { prepareE2eTemplate } from './workspace';

/**
 * Once per e2e run: pack the plugin, make sure podman runs containers (or fail with REQUIRE_PODMAN=1), make the local
 * base images, and install a template Nx workspace that every test copies.
 */
export default async function globalSetup(): Promise<void> {
  const root = `${__dirname}/../..`;
  // npm test already ran the doctor and passes CONTAINERS_CONF when needed; running jest directly gets the same check.
  execFileSync('node', ['scripts/podman-doctor.mjs', '--fix=none', '--go'], { cwd: root, stdio: 'inherit' });
  prepareE2eTemplate();
}
