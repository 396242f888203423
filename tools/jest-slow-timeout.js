/* global jest */
// Jest reads `testTimeout` only as a global option, not per project: the real-podman layers set theirs here.
jest.setTimeout(Number(process.env.NX_PODMAN_TEST_TIMEOUT_MS ?? 600_000));
