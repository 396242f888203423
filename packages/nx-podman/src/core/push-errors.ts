/**
 * What a failed `podman push` means, in words that name the registry and the fix. Pure: it reads podman's output.
 */

/** The registry host a push destination goes to: `docker://127.0.0.1:5000/x:1` and `127.0.0.1:5000/x:1` → `127.0.0.1:5000`. */
export function registryOf(destination: string): string | undefined {
  const transport = /^([a-z-]+):(?!\d)/.exec(destination);
  if (transport && transport[1] !== 'docker') return undefined;
  const reference = destination.replace(/^docker:\/\//, '');
  const first = reference.split('/')[0] ?? '';
  if (reference.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return first;
  return 'docker.io';
}

const CAUSES: { test: RegExp; cause: (registry: string) => string }[] = [
  {
    test: /connection refused/i,
    cause: (registry) => `nothing answers at ${registry} (connection refused). Check that the registry runs and that the host and port in the tags are right.`,
  },
  {
    test: /no such host|server misbehaving|Temporary failure in name resolution/i,
    cause: (registry) => `the host name of ${registry} does not resolve. Check the registry name (the plugin option "registry" or the tags).`,
  },
  {
    test: /unauthorized|authentication required|requested access to the resource is denied|\b401\b|\b403\b|denied:/i,
    cause: (registry) =>
      `${registry} refused the credentials (unauthorized). Log in first: podman login ${registry} (in CI: echo "$TOKEN" | podman login --username "$USER" --password-stdin ${registry}).`,
  },
  {
    test: /server gave HTTP response to HTTPS client/i,
    cause: (registry) =>
      `${registry} speaks plain HTTP and podman asked for HTTPS. For a registry you trust without TLS, mark it insecure in registries.conf: [[registry]] location = "${registry}" insecure = true.`,
  },
  {
    test: /x509|certificate (is not|signed by unknown)|tls: /i,
    cause: (registry) =>
      `podman does not trust the TLS certificate of ${registry}. Put the registry's CA certificate in /etc/containers/certs.d/${registry}/ca.crt.`,
  },
  {
    test: /i\/o timeout|deadline exceeded|TLS handshake timeout/i,
    cause: (registry) => `${registry} did not answer in time. Check the network between this machine and the registry.`,
  },
];

/** A sentence for a push to `destination` that failed with `output`; undefined when the output says nothing known. */
export function explainPushFailure(destination: string, output: string): string | undefined {
  const registry = registryOf(destination);
  if (registry === undefined) return undefined;
  const known = CAUSES.find(({ test }) => test.test(output));
  return known ? `Push to registry ${registry} failed: ${known.cause(registry)}` : undefined;
}
