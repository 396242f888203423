export declare const BUSYBOX_IMAGE: string;
export declare const GO_BUILDER_IMAGE: string;
export declare function ensureBusyboxImage(log?: (line: string) => void): void;
export declare function ensureGoBuilderImage(log?: (line: string) => void): void;
export declare const DELVE_IMAGE: string;
export declare function ensureDelveImage(log?: (line: string) => void): void;
export declare const HOST_GO: { go: string | undefined; goRoot: string | undefined; version: string };
export declare const DELVE_VERSION: string;
