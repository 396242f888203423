/** What a load client saw: requests sent, answered, failed (with why), and the last answer. */
export interface LoadStats {
  sent: number;
  ok: number;
  failed: number;
  /** The first failures' reasons (at most 20). */
  failures: string[];
  /** gRPC calls the server refused before working on them (GOAWAY, REFUSED_STREAM), sent again as gRPC clients do. */
  retried: number;
  /** Slowest answer, ms. */
  slowestMs: number;
  last: string;
}

export interface LoadClient {
  readonly stats: LoadStats;
  /** Stops sending and waits for the answers still due. */
  stop(): Promise<void>;
}

/** GET / on a new connection every `intervalMs`: a refused, reset or non-200 answer is a failure. */
export function startHttpLoad(port: number, intervalMs: number): LoadClient;
/** Unary prism.plugin.v1.Plugin/Info calls every `intervalMs` on one long-lived HTTP/2 connection (gRPC's transparent retry). */
export function startGrpcLoad(port: number, intervalMs: number): LoadClient;
