// Delve's JSON-RPC API, for the e2e tests: the client is shared with the benchmark.
export { connectDelve, inspectProgram, type DelveClient } from '../../scripts/lib/delve-client.mjs';
