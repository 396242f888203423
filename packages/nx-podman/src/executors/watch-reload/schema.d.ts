/**
 * Options of the `@prism/nx-podman:watch-reload` executor, as written in project.json / nx.json (see schema.json and
 * docs/watch-reload.md). None of the names collides with a flag `nx run` keeps for itself.
 */
export interface WatchReloadExecutorSchema {
  /** Projects to build/reload: names, globs, `tag:` selectors, `!` exclusions. Their dependencies are watched too. @default [the target's project] */
  projects?: string[] | string;
  /** Trailing quiet period in ms. @default 1000 */
  debounce?: number;
  /** A change set closes at the latest this many ms after its first change. @default 10000 */
  maxWait?: number;
  /** Build affected images; false only watches and logs. @default true */
  build?: boolean;
  /** Replace the containers of rebuilt projects and wait until healthy. @default false */
  reload?: boolean;
  /** Build (and with `reload` run) every selected project once at start. @default false */
  initialBuild?: boolean;
  /** Build stage for the build and run targets; configurations `production`/`debug` select it. @default "production" */
  stage?: string;
  /** podman binary for the build and run targets. @default the targets' own setting */
  podman?: string;
  /** `podman --remote` for the build and run targets. @default the targets' own setting */
  remote?: boolean;
  /** podman system connection for the build and run targets. @default the targets' own setting */
  connection?: string;
  /** Target that builds an image. @default "podman-build" */
  buildTarget?: string;
  /** Target that replaces a container. @default "podman-run" */
  runTarget?: string;
  /** Builds (with their reloads) of different projects at once. @default 2 */
  concurrency?: number;
  /** What a change to a project being built does. @default "queue" */
  onBusyUpdate?: 'queue' | 'restart';
  /** Project-relative globs of trigger files. @default the build target's file inputs, else Go sources, go.mod/go.sum, Containerfile, ignore files and copied files */
  include?: string[];
  /** Project-relative globs that never trigger (not `exclude`: `nx run` swallows `--exclude`). @default ["**\/*_test.go", "**\/testdata/**"] */
  ignore?: string[];
  /** Poll instead of inotify. @default false */
  usePolling?: boolean;
  /** Stop the selected projects' containers on Ctrl-C/SIGTERM. @default false */
  stopOnExit?: boolean;
  /** With reload: hold new connections on the published ports while a container changes (live update, blue/green replace) instead of refusing them. @default true */
  holdRequests?: boolean;
  /** Seconds a held connection waits before it is closed. @default 30 */
  holdTimeout?: number;
  /** Connections held at once per plugin; more are closed on arrival. @default 1000 */
  maxHeldConnections?: number;
  /** Images kept per project and stage; older ones this plugin built are removed after each new build. 0: keep all. @default 3 */
  keepImages?: number;
  /** With reload: `auto` updates running containers in place for Go-only change sets; `off` always builds. @default "auto" */
  liveUpdate?: 'auto' | 'off';
  /** DEBUG lines and full build output (also on with Nx's `--verbose`). @default false */
  verbose?: boolean;
  /** Status page on 127.0.0.1: a port, 0 for any free one, false for none. @default any free port */
  statusPort?: number | boolean;
  /** @default "text" */
  logFormat?: 'text' | 'json';
}
