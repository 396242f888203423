export declare function removeContainersAndPods(containers: readonly string[], options?: { timeSeconds?: number }): void;
