import { parsePodmanVersion } from './podman-version';

describe('parsePodmanVersion', () => {
  it('reads the version and the platform podman builds on', () => {
    expect(parsePodmanVersion(JSON.stringify({ Client: { Version: '4.3.1', OsArch: 'linux/amd64' } }))).toEqual({
      client: '4.3.1',
      server: '4.3.1',
      major: 4,
      minor: 3,
      patch: 1,
      osArch: 'linux/amd64',
    });
  });

  it('takes the server of a remote connection: its version and its platform', () => {
    const version = parsePodmanVersion(
      JSON.stringify({ Client: { Version: '5.0.0', OsArch: 'darwin/arm64' }, Server: { Version: '4.9.3', OsArch: 'linux/arm64' } }),
    );
    expect(version).toMatchObject({ client: '5.0.0', server: '4.9.3', major: 4, minor: 9, osArch: 'linux/arm64' });
  });

  it('is undefined for output that is not podman version JSON', () => {
    expect(parsePodmanVersion('podman version 4.3.1')).toBeUndefined();
    expect(parsePodmanVersion('{}')).toBeUndefined();
  });
});
