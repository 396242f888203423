import { createPodmanEngine } from '../adapters/podman-engine';
import type { PodmanConnection, PodmanVersion } from '../core/podman-version';
import type { ImageBuildResult, ImageListing, PodmanEngine, ProcessResult, RunProcessOptions } from '../core/ports';

/** A scripted answer for commands whose arguments start with `prefix`. */
export interface FakeResponse {
  prefix: string[];
  result?: Partial<ProcessResult>;
  /** Computes the result (and may have side effects, e.g. write an --iidfile). */
  respond?: (args: readonly string[], options?: RunProcessOptions) => Partial<ProcessResult> | Promise<Partial<ProcessResult>>;
}

/** A fake {@link PodmanEngine} that records every argument array and answers from a script. Unscripted commands exit 0. */
export class FakeEngine implements PodmanEngine {
  readonly calls: string[][] = [];
  readonly connection: PodmanConnection = { podman: 'podman', remote: false };
  private readonly responses: FakeResponse[] = [];
  /** The real engine's queries (listImages, build, ...) over this fake's `exec`: the same argument arrays, recorded. */
  private readonly queries = createPodmanEngine(this.connection, { run: (_file, args, options) => this.exec(args, options) });

  constructor(private readonly podmanVersion: PodmanVersion = { client: '4.3.1', server: '4.3.1', major: 4, minor: 3, patch: 1 }) {}

  /** Adds a scripted response; later ones win over earlier ones for the same prefix. */
  on(prefix: string[], result: FakeResponse['result'] | FakeResponse['respond']): this {
    this.responses.unshift(typeof result === 'function' ? { prefix, respond: result } : { prefix, result });
    return this;
  }

  /** What each call got on stdin, by call index (a promised input once it resolved). */
  readonly inputs = new Map<number, string>();

  async exec(args: readonly string[], options?: RunProcessOptions): Promise<ProcessResult> {
    const index = this.calls.push([...args]) - 1;
    if (options?.input !== undefined && typeof options.input !== 'string' && !(options.input instanceof Promise))
      return this.serve(index, args, options.input, options);
    if (options?.input !== undefined) {
      // Like a process reading stdin: it waits for its input, or for an abort.
      const signal = options.signal;
      const aborted = new Promise<undefined>((resolve) =>
        signal?.aborted ? resolve(undefined) : signal?.addEventListener('abort', () => resolve(undefined), { once: true }),
      );
      const input = await Promise.race([options.input, aborted]);
      if (input === undefined)
        return { command: ['podman', ...args].join(' '), exitCode: 143, stdout: '', stderr: '', aborted: true, timedOut: false, signal: 'SIGTERM' };
      this.inputs.set(index, input);
    }
    const match = this.responses.find((response) => response.prefix.every((part, index) => args[index] === part));
    const partial = match?.respond ? await match.respond(args, options) : (match?.result ?? {});
    return { command: ['podman', ...args].join(' '), exitCode: 0, stdout: successOutput(args), stderr: '', aborted: false, timedOut: false, ...partial };
  }

  /**
   * A process that reads requests on stdin for as long as it runs: each chunk gets the scripted answer (called with
   * that chunk as `input`), whose stdout and stderr go to `onOutput`; it ends with its input (exit 0), an abort, or an
   * answer that sets `exitCode` (the process died: that is its result).
   */
  private async serve(index: number, args: readonly string[], input: AsyncIterable<string>, options: RunProcessOptions): Promise<ProcessResult> {
    const result = { command: ['podman', ...args].join(' '), exitCode: 0, stdout: '', stderr: '', aborted: false, timedOut: false };
    const signal = options.signal;
    const aborted = new Promise<undefined>((resolve) =>
      signal?.aborted ? resolve(undefined) : signal?.addEventListener('abort', () => resolve(undefined), { once: true }),
    );
    const requests = input[Symbol.asyncIterator]();
    let received = '';
    for (;;) {
      const next = await Promise.race([requests.next(), aborted]);
      if (next === undefined) return { ...result, exitCode: 143, aborted: true, signal: 'SIGTERM' };
      if (next.done) return result;
      received += next.value;
      this.inputs.set(index, received);
      const match = this.responses.find((response) => response.prefix.every((part, at) => args[at] === part));
      const answer = match?.respond ? await match.respond(args, { ...options, input: next.value }) : (match?.result ?? {});
      if (answer.exitCode !== undefined) return { ...result, ...answer };
      if (answer.stdout) options.onOutput?.(answer.stdout, 'stdout');
      if (answer.stderr) options.onOutput?.(answer.stderr, 'stderr');
    }
  }

  async version(): Promise<PodmanVersion> {
    return this.podmanVersion;
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.exec(['image', 'exists', ref])).exitCode === 0;
  }

  async containerExists(name: string): Promise<boolean> {
    return (await this.exec(['container', 'exists', name])).exitCode === 0;
  }

  listImages(filter: string, options?: { signal?: AbortSignal; all?: boolean }): Promise<ImageListing[] | undefined> {
    return this.queries.listImages(filter, options);
  }

  imageId(ref: string): Promise<string | undefined> {
    return this.queries.imageId(ref);
  }

  imageNames(id: string): Promise<string[] | undefined> {
    return this.queries.imageNames(id);
  }

  containerImageIds(): Promise<Set<string> | undefined> {
    return this.queries.containerImageIds();
  }

  manifestPlatforms(manifest: string): Promise<string[] | undefined> {
    return this.queries.manifestPlatforms(manifest);
  }

  /** Like podman: a scripted `build` response writes the image id to the `--iidfile` path in its arguments. */
  build(args: readonly string[], options?: RunProcessOptions): Promise<ImageBuildResult> {
    return this.queries.build(args, options);
  }

  /** The recorded calls whose first arguments equal `prefix`. */
  callsStartingWith(...prefix: string[]): string[][] {
    return this.calls.filter((call) => prefix.every((part, index) => call[index] === part));
  }
}

/**
 * What podman prints when these commands succeed (the last argument: a container or pod name): the exit path tells a
 * call a signal ended from a success by it (see `endedBySignal` in core/podman-retry.ts).
 */
function successOutput(args: readonly string[]): string {
  const last = args.at(-1) ?? '';
  if (args[0] === 'pod' && args[1] === 'create') return `${'d'.repeat(64)}\n`;
  if (args[0] === 'create') return `${'c'.repeat(64)}\n`;
  if (args[0] === 'start' || args[0] === 'kill') return `${last}\n`;
  if (args[0] === 'wait') return '0\n';
  return '';
}
