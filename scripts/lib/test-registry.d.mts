export const REGISTRY_USER: string;

/** A TCP port on 127.0.0.1 that nothing listens on now. */
export function freePort(): Promise<number>;

export interface StartedRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** For podman and nx: CONTAINERS_REGISTRIES_CONF and REGISTRY_AUTH_FILE (right credentials). */
  env: Record<string, string>;
  /** An auth file with a wrong password for this registry. */
  wrongAuthFile: string;
  /** GET with the right credentials, no keep-alive. */
  get(path: string, accept?: string): Promise<{ status: number; body: Buffer }>;
  stop(): Promise<void>;
}

export function startRegistry(): Promise<StartedRegistry>;

export interface AgentStorage {
  /** CONTAINERS_STORAGE_CONF for this store. */
  env: Record<string, string>;
  /** podman on this store (`extraEnv`: more variables, e.g. a registry's). */
  podman(args: string[], extraEnv?: Record<string, string>): { code: number; stdout: string; stderr: string };
  remove(): void;
}

/** A podman image store of its own (another CI agent, a clean machine), with `baseImagesArchive` loaded when given. */
export function agentStorage(name: string, baseImagesArchive?: string): AgentStorage;

export function saveImages(images: string[]): { path: string; remove(): void };
