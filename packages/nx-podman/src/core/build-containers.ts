/**
 * Finding the build container of a `podman build` step from the step's own process, so that the container can be
 * removed when podman itself could not (Nx's task-tree kill after Ctrl-C signals `podman build` as soon as its step
 * is gone: podman then exits before its `--force-rm` clean-up). Pure: the adapter reads the files.
 */

/** The overlay upper directory of the mount at `/` in a `/proc/<pid>/mountinfo` text, or undefined. */
export function rootUpperDir(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    // Fields before " - ": id, parent, major:minor, root, mount point, options, optional fields.
    if (before.split(' ')[4] !== '/') continue;
    const [type, , options = ''] = after.split(' ');
    if (type !== 'overlay') return undefined;
    return options
      .split(',')
      .find((option) => option.startsWith('upperdir='))
      ?.slice('upperdir='.length);
  }
  return undefined;
}

/**
 * Where containers/storage lists its containers, and the layer id, for an overlay upper directory
 * `<graphroot>/overlay/<layer>/diff`; undefined for any other shape.
 */
export function storageOfUpperDir(upperDir: string): { containersFile: string; layer: string } | undefined {
  const match = /^(.*)\/overlay\/([0-9a-f]{64})\/diff$/.exec(upperDir);
  if (!match) return undefined;
  return { containersFile: `${match[1]}/overlay-containers/containers.json`, layer: match[2]! };
}

/** The ids of the containers in a containers/storage `containers.json` whose layer is one of `layers`. */
export function containersOnLayers(containersJson: string, layers: ReadonlySet<string>): string[] {
  try {
    const entries = JSON.parse(containersJson) as unknown;
    if (!Array.isArray(entries)) return [];
    return entries.flatMap((entry: { id?: unknown; layer?: unknown }) =>
      typeof entry?.id === 'string' && typeof entry.layer === 'string' && layers.has(entry.layer) ? [entry.id] : [],
    );
  } catch {
    return [];
  }
}
