import { grpcurl } from '../../scripts/lib/go-tools.mjs';

/** What grpcurl (the real client, built from its module) gets from a unary call on 127.0.0.1:port; throws with its error. */
export function grpcJson(port: number, method: string): Record<string, string> {
  const result = grpcurl(port, method);
  if (result.code !== 0) throw new Error(`grpcurl -plaintext 127.0.0.1:${port} ${method} exited ${result.code}: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout) as Record<string, string>;
}

/** The services grpcurl lists by server reflection on 127.0.0.1:port. */
export function grpcServices(port: number): string[] {
  const result = grpcurl(port, 'list');
  if (result.code !== 0) throw new Error(`grpcurl -plaintext 127.0.0.1:${port} list exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout.split('\n').filter(Boolean);
}

/** The plugin's own Info call: its name, the core version and its message. */
export const pluginInfo = (port: number) => grpcJson(port, 'prism.plugin.v1.Plugin/Info');
