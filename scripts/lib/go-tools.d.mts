export interface GoTool {
  module: string;
  version: string;
  name: string;
}
export declare const GRPCURL: GoTool;
export declare const DLV: GoTool;
export declare function ensureGoTool(tool: GoTool, log?: (line: string) => void): string;
export declare function ensureGrpcurl(log?: (line: string) => void): string;
export declare function ensureDlv(log?: (line: string) => void): string;
export declare function grpcurl(
  port: number,
  method: string,
  options?: { timeoutSeconds?: number; data?: unknown },
): { code: number; stdout: string; stderr: string };
