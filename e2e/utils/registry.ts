import { startRegistry as startRegistryProcess } from '../../scripts/lib/test-registry.mjs';

export { agentStorage, freePort, saveImages, type AgentStorage } from '../../scripts/lib/test-registry.mjs';

/**
 * A real OCI registry for the e2e tests (scripts/lib/test-registry.mjs, shared with the bench), with helpers that
 * read what podman pushed: tags, manifests, blobs.
 */
export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** For podman and nx: CONTAINERS_REGISTRIES_CONF and REGISTRY_AUTH_FILE (right credentials). */
  env: Record<string, string>;
  /** An auth file with a wrong password for this registry. */
  wrongAuthFile: string;
  /** The tags of a repository (`GET /v2/<name>/tags/list`); [] when the repository does not exist. */
  tags(repository: string): Promise<string[]>;
  /** A manifest or image index (OCI or Docker v2) by tag or digest. */
  manifest(repository: string, reference: string): Promise<RegistryManifest>;
  /** A blob by digest, as stored (a layer is gzip'ed tar). */
  blob(repository: string, digest: string): Promise<Buffer>;
  stop(): Promise<void>;
}

export interface RegistryManifest {
  mediaType?: string;
  /** An index / manifest list. */
  manifests?: { digest: string; platform?: { os: string; architecture: string } }[];
  /** An image manifest. */
  layers?: { digest: string; mediaType: string }[];
  config?: { digest: string };
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export async function startRegistry(): Promise<TestRegistry> {
  const registry = await startRegistryProcess();
  const ok = async (path: string, accept?: string) => {
    const answer = await registry.get(path, accept);
    if (answer.status !== 200) throw new Error(`GET ${path} from the registry answered ${answer.status}: ${answer.body.toString()}`);
    return answer.body;
  };
  return {
    host: registry.host,
    env: registry.env,
    wrongAuthFile: registry.wrongAuthFile,
    async tags(repository) {
      const answer = await registry.get(`/v2/${repository}/tags/list`);
      if (answer.status === 404) return [];
      const body = JSON.parse(answer.body.toString()) as { tags?: string[] | null };
      return [...(body.tags ?? [])].sort();
    },
    manifest: async (repository, reference) =>
      JSON.parse((await ok(`/v2/${repository}/manifests/${reference}`, MANIFEST_TYPES)).toString()) as RegistryManifest,
    blob: (repository, digest) => ok(`/v2/${repository}/blobs/${digest}`),
    stop: () => registry.stop(),
  };
}
