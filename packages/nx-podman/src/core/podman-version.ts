/** A parsed `podman version` (client and, for remote connections, server). */
export interface PodmanVersion {
  /** e.g. "4.3.1" */
  client: string;
  /** Server version with `--remote`; the client version otherwise. */
  server: string;
  major: number;
  minor: number;
  patch: number;
  /** The platform podman builds on (`linux/amd64`): the server's with `--remote`, else the client's; when it says. */
  osArch?: string;
}

/** Parses `podman version --format json` output. Returns undefined when it is not that. */
export function parsePodmanVersion(json: string): PodmanVersion | undefined {
  try {
    const value = JSON.parse(json) as { Client?: { Version?: string; OsArch?: string }; Server?: { Version?: string; OsArch?: string } };
    const client = value.Client?.Version;
    if (!client) return undefined;
    const server = value.Server?.Version ?? client;
    const [major = 0, minor = 0, patch = 0] = server.split(/[.-]/).map((part) => Number.parseInt(part, 10) || 0);
    const osArch = value.Server?.OsArch ?? value.Client?.OsArch;
    return { client, server, major, minor, patch, ...(osArch && /^[a-z0-9]+\/[a-z0-9_]+/.test(osArch) && { osArch }) };
  } catch {
    return undefined;
  }
}

/** True when the (server) version is at least `major.minor[.patch]`: use it to gate flags. */
export function isPodmanAtLeast(version: PodmanVersion, major: number, minor = 0, patch = 0): boolean {
  if (version.major !== major) return version.major > major;
  if (version.minor !== minor) return version.minor > minor;
  return version.patch >= patch;
}

/** How to reach podman: the binary, and optionally a remote service (`podman --remote --connection NAME`). */
export interface PodmanConnection {
  /** Path or name of the podman binary. @default 'podman' */
  podman: string;
  /** Use the podman service instead of local podman. @default false */
  remote: boolean;
  /** Named connection (`podman system connection list`); implies `remote`. */
  connection?: string;
}

/** Global flags that select the podman service; they come before the subcommand. */
export function buildGlobalArgs(connection: PodmanConnection): string[] {
  const args: string[] = [];
  if (connection.remote || connection.connection) args.push('--remote');
  if (connection.connection) args.push('--connection', connection.connection);
  return args;
}
