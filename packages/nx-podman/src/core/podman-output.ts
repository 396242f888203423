import { fullImageId } from './image-id';
import type { ImageListing } from './ports';

/** The `--format` {@link parseImageList} reads: one line per name (`<none>:<none>` for an untagged image). */
export const IMAGE_LIST_FORMAT = '{{.ID}} {{.Repository}}:{{.Tag}}';

/** Parses `podman image ls --no-trunc --format IMAGE_LIST_FORMAT`: one entry per image, its real names collected. */
export function parseImageList(stdout: string): ImageListing[] {
  const images = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const [rawId, name] = line.trim().split(/\s+/);
    if (!rawId) continue;
    const id = fullImageId(rawId);
    const names = images.get(id) ?? [];
    if (name && name !== '<none>:<none>' && !names.includes(name)) names.push(name);
    images.set(id, names);
  }
  return [...images].map(([id, names]) => ({ id, names }));
}

/** The platforms (`os/arch[/variant]`) of `podman manifest inspect` output; undefined for output that is not a list. */
export function parseManifestPlatforms(stdout: string): string[] | undefined {
  try {
    const list = JSON.parse(stdout) as { manifests?: { platform?: { os?: string; architecture?: string; variant?: string } }[] };
    return (list.manifests ?? []).map(({ platform = {} }) => [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/'));
  } catch {
    return undefined;
  }
}

/** Parses `podman image inspect --format '{{json .RepoTags}}'` (`null` or `[]` for an untagged image). */
export function parseImageNames(stdout: string): string[] {
  try {
    const names = JSON.parse(stdout.trim().split('\n')[0] || 'null') as unknown;
    return Array.isArray(names) ? names.filter((name): name is string => typeof name === 'string') : [];
  } catch {
    return [];
  }
}

/** One image id a line (`{{.ImageID}}` of `podman ps`), as a set of full ids. */
export function parseImageIdLines(stdout: string): Set<string> {
  return new Set(
    stdout
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .map(fullImageId),
  );
}

/** The parts of `podman image inspect` a live update builder needs. */
export interface ImageConfig {
  id: string;
  env: Record<string, string>;
  workdir: string;
  user: string;
}

/** Parses `podman image inspect` output (the first image); undefined when it is not an image description. */
export function parseImageConfig(json: string): ImageConfig | undefined {
  try {
    const value = JSON.parse(json) as unknown;
    const first = (Array.isArray(value) ? value[0] : value) as { Id?: string; Config?: { Env?: string[]; WorkingDir?: string; User?: string } } | undefined;
    if (!first || typeof first.Id !== 'string') return undefined;
    const env: Record<string, string> = {};
    for (const pair of first.Config?.Env ?? []) {
      const at = pair.indexOf('=');
      if (at > 0) env[pair.slice(0, at)] = pair.slice(at + 1);
    }
    return {
      id: first.Id.startsWith('sha256:') ? first.Id : `sha256:${first.Id}`,
      env,
      workdir: first.Config?.WorkingDir ?? '',
      user: first.Config?.User ?? '',
    };
  } catch {
    return undefined;
  }
}
