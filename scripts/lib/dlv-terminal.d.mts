import type { LongRunningProcess } from './long-running.mjs';

export declare const DLV_PROMPT: RegExp;

export interface DlvTerminal {
  process: LongRunningProcess;
  readonly length: number;
  type(line: string, pattern?: RegExp, timeoutMs?: number): Promise<RegExpMatchArray | undefined>;
  waitFor(pattern: RegExp, from: number, timeoutMs?: number): Promise<RegExpMatchArray>;
  since(from: number): string;
  readonly done: boolean;
  detach(): Promise<void>;
}

export declare function attachDlv(port: number, options?: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<DlvTerminal>;
