export interface DelveClient {
  call<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Sends without waiting for the answer (`continue` answers only when the program stops again). */
  send(method: string, params?: Record<string, unknown>): void;
  close(): void;
}
export declare function connectDelve(port: number, timeoutMs?: number): Promise<DelveClient>;
export declare function inspectProgram(
  delve: DelveClient,
  filter?: string,
): Promise<{ running: boolean; exited: boolean; haltedPid: number; haltedRunning: boolean; goroutines: number; functions: string[] }>;
