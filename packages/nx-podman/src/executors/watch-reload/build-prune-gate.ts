/**
 * Image builds and image retention never overlap: removing a superseded image also removes its untagged parent layers,
 * which another project's build may be about to use from the layer cache (`podman build` then fails with exit 125).
 * Builds share the gate; a prune waits until no build runs, and builds starting meanwhile wait for it.
 */
export interface BuildPruneGate {
  /** Runs `build` once no prune runs. */
  build<T>(build: () => Promise<T>): Promise<T>;
  /** Runs `prune` once no build and no other prune runs, unless `cancelled()` says so by then. */
  prune(cancelled: () => boolean, prune: () => Promise<void>): Promise<void>;
}

export function createBuildPruneGate(): BuildPruneGate {
  let builds = 0;
  let pruning: Promise<void> | undefined;
  const buildsDone: (() => void)[] = [];
  return {
    async build(build) {
      while (pruning) await pruning;
      builds++;
      try {
        return await build();
      } finally {
        builds--;
        if (builds === 0) buildsDone.splice(0).forEach((resolve) => resolve());
      }
    },
    async prune(cancelled, prune) {
      while (builds > 0 || pruning) {
        if (pruning) await pruning;
        else await new Promise<void>((resolve) => buildsDone.push(resolve));
      }
      if (cancelled()) return;
      pruning = prune();
      await pruning;
      pruning = undefined;
    },
  };
}
