import { explainPushFailure, registryOf } from './push-errors';

describe('registryOf', () => {
  it.each([
    ['127.0.0.1:5000/prism/postgres-plugin:abc1234', '127.0.0.1:5000'],
    ['docker://127.0.0.1:5000/prism/postgres-plugin:latest', '127.0.0.1:5000'],
    ['ghcr.io/acme/postgres-plugin:latest', 'ghcr.io'],
    ['localhost/prism/postgres-plugin:latest', 'localhost'],
    ['prism/postgres-plugin:latest', 'docker.io'],
    ['oci-archive:/tmp/out.tar', undefined],
    ['dir:/tmp/out', undefined],
  ])('%s → %s', (destination, expected) => {
    expect(registryOf(destination)).toBe(expected);
  });
});

describe('explainPushFailure', () => {
  const tag = '127.0.0.1:5000/prism/postgres-plugin:latest';

  it.each([
    [
      'Error: ... dial tcp 127.0.0.1:5000: connect: connection refused',
      /^Push to registry 127\.0\.0\.1:5000 failed: nothing answers at 127\.0\.0\.1:5000 \(connection refused\)/,
    ],
    ['Error: ... unauthorized: authentication required', /refused the credentials \(unauthorized\)\. Log in first: podman login 127\.0\.0\.1:5000/],
    ['Error: ... http: server gave HTTP response to HTTPS client', /speaks plain HTTP .* \[\[registry\]\] location = "127\.0\.0\.1:5000" insecure = true/],
    [
      'Error: ... x509: certificate signed by unknown authority',
      /does not trust the TLS certificate .* \/etc\/containers\/certs\.d\/127\.0\.0\.1:5000\/ca\.crt/,
    ],
    ['Error: ... dial tcp: lookup registry.nowhere: no such host', /does not resolve/],
    ['Error: ... i/o timeout', /did not answer in time/],
  ])('%s', (output, expected) => {
    expect(explainPushFailure(tag, output)).toMatch(expected);
  });

  it('says nothing for an unknown cause or a local destination', () => {
    expect(explainPushFailure(tag, 'Error: something else')).toBeUndefined();
    expect(explainPushFailure('oci-archive:/tmp/x.tar', 'connection refused')).toBeUndefined();
  });
});
