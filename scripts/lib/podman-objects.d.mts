export declare function gatePodsOf(containers: readonly string[]): string[];
export declare function removeContainersAndPods(containers: readonly string[], options?: { timeSeconds?: number }): void;
export declare function withGateSiblings(containers: readonly string[]): string[];
