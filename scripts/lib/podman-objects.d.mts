export declare function removeContainersAndPods(containers: readonly string[], options?: { timeSeconds?: number }): void;
export declare function removeBuildersOf(workspaceRoot: string): void;
