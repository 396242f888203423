import { sameImage, shortImageId } from '../../core/image-id';
import type { BuildRecordStore, FileReader } from '../../core/ports';
import { buildInspectArgs, parseContainerInspect, type ContainerState } from '../../core/run-args';
import type { LiveProject } from './live-project';

/**
 * Does the project's container run the image last built for it? The live path's check before it swaps a binary in:
 * `podman inspect`, or, for a container seen running before, two file reads that prove it still is (see stillRunning).
 */
export function createContainerCheck(files: Pick<FileReader, 'readText'>, records: Pick<BuildRecordStore, 'read'>) {
  /** The project's container as podman describes it; undefined when there is none. */
  const inspectContainer = async (info: LiveProject): Promise<ContainerState | undefined> => {
    const inspected = await info.engine.exec(buildInspectArgs(info.container.name));
    return inspected.exitCode === 0 ? parseContainerInspect(inspected.stdout) : undefined;
  };

  /** What the last full inspect said of each project's running container, and its name (see {@link stillRunning}). */
  const lastSeen = new Map<string, { name: string; state: ContainerState }>();

  /**
   * The container as last inspected, when it provably still is that container and running: its conmon's pid file
   * (podman writes it at every start, and removes it with the container) names a live conmon whose command line holds
   * the container's id. Two file reads instead of a `podman inspect` (a podman process: ~0.12 CPU-s, taken from the
   * compiles when a core change updates several plugins at once). Local podman only; anything else: undefined.
   */
  const stillRunning = async (info: LiveProject): Promise<ContainerState | undefined> => {
    const seen = lastSeen.get(info.project);
    const known = seen?.name === info.container.name ? seen.state : undefined;
    if (!known?.running || !known.conmonPidFile || !known.id || info.engine.connection.remote || info.engine.connection.connection) return undefined;
    const pid = Number.parseInt((await files.readText(known.conmonPidFile).catch(() => undefined)) ?? '', 10);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const command = await files.readText(`/proc/${pid}/cmdline`).catch(() => undefined);
    return command !== undefined && command.split('\0').includes(known.id) ? known : undefined;
  };

  /** The container, if it runs this project's image: else why the full path is needed. */
  const checkContainer = async (info: LiveProject) => {
    const quick = await stillRunning(info);
    const state = quick ?? (await inspectContainer(info));
    if (state && !quick) {
      if (state.running) lastSeen.set(info.project, { name: info.container.name, state });
      else lastSeen.delete(info.project);
    }
    if (!state || !state.running) return { reason: `no running container "${info.container.name}"` };
    const record = await records.read(info.project, info.stage);
    if (!record || !sameImage(record.imageId, state.imageId)) {
      return {
        reason: `container "${info.container.name}" runs image ${shortImageId(state.imageId)}, not the image last built for this project${record ? ` (${shortImageId(record.imageId)})` : ''}`,
      };
    }
    return { state };
  };

  return {
    checkContainer,
    inspectContainer,
    /** A new container (a replace): the next check inspects it. */
    forget: (project: string) => void lastSeen.delete(project),
  };
}
