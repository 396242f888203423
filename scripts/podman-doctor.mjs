// `node scripts/podman-doctor.mjs [--fix=system|env|none] [--go]`: checks that podman builds and runs containers here,
// fixes sandbox limits if asked, and makes the local base images (busybox, and with --go the Go builder).
import { ensurePodmanWorks } from './lib/podman-doctor.mjs';
import { ensureGoBuilderImage } from './lib/base-images.mjs';

const fix = process.argv.find((arg) => arg.startsWith('--fix='))?.slice(6) ?? 'none';
const env = ensurePodmanWorks({ fix });
if (process.argv.includes('--go')) ensureGoBuilderImage();
if (env.CONTAINERS_CONF) console.log(`export CONTAINERS_CONF=${env.CONTAINERS_CONF}`);
console.log('podman doctor: podman builds and runs containers here');
