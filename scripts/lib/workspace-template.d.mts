import type { StdioOptions } from 'node:child_process';

export declare const BUSYBOX_IMAGE: string;
export declare const GO_BUILDER_IMAGE: string;
export declare const DELVE_IMAGE: string;
export declare const NX_ENV: Readonly<Record<string, string>>;
export declare function packPlugin(repoRoot: string, outDir: string): string;
export declare function prepareTemplate(
  dir: string,
  options: { repoRoot: string; name?: string; tarball?: string; log?: (line: string) => void; stdio?: StdioOptions },
): string;
export declare function nxBin(dir: string): string;
