import { addProjectConfiguration, formatFiles, generateFiles, logger, OverwriteStrategy, parseJson, type ProjectConfiguration, type Tree } from '@nx/devkit';
import { join } from 'node:path';
import { initGenerator } from '../init/generator';
import { normalizePluginOptions, type NormalizedPluginOptions } from './normalize-options';
import type { PluginGeneratorSchema } from './schema';

const FILES = join(__dirname, 'files');

function healthCheckOption(options: NormalizedPluginOptions, hostPort: number): Record<string, unknown> | undefined {
  switch (options.healthCheck) {
    case 'grpc':
      return { grpc: `127.0.0.1:${hostPort}` };
    case 'http':
      return { http: `http://127.0.0.1:${hostPort}/healthz` };
    case 'tcp':
      return { tcp: hostPort };
    case 'command':
      return { command: ['/plugin', '-healthcheck'] };
    case 'none':
      return undefined;
  }
}

function runOptions(options: NormalizedPluginOptions, hostPort: number, extraPorts: string[] = []): Record<string, unknown> {
  const health = healthCheckOption(options, hostPort);
  return {
    ports: [hostPort === options.port ? `${options.port}` : `${hostPort}:${options.port}`, ...extraPorts],
    ...(health ? { healthCheck: health } : {}),
  };
}

/**
 * The project.json of a plugin. Build, run and watch targets come from the graph inference; only what inference cannot
 * know is written here: the container's run options (merged by Nx into the inferred run target), for production and,
 * on another host port so both can run at once, for debug.
 */
export function buildPluginProjectConfiguration(options: NormalizedPluginOptions): ProjectConfiguration {
  return {
    name: options.name,
    root: options.projectRoot,
    sourceRoot: options.projectRoot,
    projectType: 'application',
    tags: [...options.tags],
    targets: {
      [options.runTargetName]: {
        options: { ...runOptions(options, options.port), env: { PORT: `${options.port}` } },
        // Debug: Delve's port too, on 127.0.0.1 (ports without an address are published there): a debugger attaches to it.
        configurations: { debug: runOptions(options, options.debugPort, [`${options.delvePort}:${options.delveContainerPort}`]) },
      },
    },
  };
}

function templateValues(options: NormalizedPluginOptions): Record<string, unknown> {
  return { ...options, tmpl: '', dot: '.' };
}

/** Writes the core Go module (when missing), the plugin's files and project.json, and the context's .containerignore. */
function writePlugin(tree: Tree, options: NormalizedPluginOptions): void {
  const values = templateValues(options);
  if (!options.coreExists) generateFiles(tree, join(FILES, 'core'), options.coreRoot, values);
  generateFiles(tree, join(FILES, 'plugin'), options.projectRoot, values);
  // The protocol's own files: gRPC (go.sum, main.go, server.go, the .proto and its generated code) or HTTP.
  generateFiles(tree, join(FILES, `plugin-${options.protocol}`), options.projectRoot, values);
  // One .containerignore per build context (podman reads it only there); a user's own is kept.
  generateFiles(tree, join(FILES, 'context'), options.context, values, { overwriteStrategy: OverwriteStrategy.KeepExisting });
  addProjectConfiguration(tree, options.name, buildPluginProjectConfiguration(options));
  addLaunchConfiguration(tree, options);
}

const LAUNCH_JSON = '.vscode/launch.json';

/** The VS Code (Go extension) entry that attaches to the plugin's Delve; sources map from the builder's /src. */
export function buildLaunchConfiguration(options: NormalizedPluginOptions): Record<string, unknown> {
  const local = options.context === '.' ? '${workspaceFolder}' : `\${workspaceFolder}/${options.context}`;
  return {
    name: `Attach to ${options.name} (Delve in ${options.name}-plugin-debug)`,
    type: 'go',
    request: 'attach',
    mode: 'remote',
    host: '127.0.0.1',
    port: options.delvePort,
    substitutePath: [{ from: local, to: '/src' }],
  };
}

/**
 * Adds the plugin's attach entry to .vscode/launch.json: a new file, or the entry inserted at the top of the existing
 * `configurations` as text, so that the user's entries, comments and layout stay as they were. An entry of the same
 * name is left alone.
 */
function addLaunchConfiguration(tree: Tree, options: NormalizedPluginOptions): void {
  const entry = buildLaunchConfiguration(options);
  const text = tree.read(LAUNCH_JSON, 'utf-8');
  if (text === null) {
    tree.write(LAUNCH_JSON, `${JSON.stringify({ version: '0.2.0', configurations: [entry] }, null, 2)}\n`);
    return;
  }
  let parsed: { configurations?: { name?: string }[] };
  try {
    parsed = parseJson(text) as typeof parsed;
  } catch (error) {
    logger.warn(
      `nx-podman plugin: ${LAUNCH_JSON} is not valid JSON (${(error as Error).message}); add the Delve attach entry by hand: ${JSON.stringify(entry)}`,
    );
    return;
  }
  if (parsed.configurations?.some((existing) => existing.name === entry.name)) return;
  const open = /"configurations"\s*:\s*\[/.exec(text);
  if (!open || !Array.isArray(parsed.configurations)) {
    tree.write(
      LAUNCH_JSON,
      `${JSON.stringify({ ...parsed, version: (parsed as { version?: string }).version ?? '0.2.0', configurations: [entry] }, null, 2)}\n`,
    );
    return;
  }
  const at = open.index + open[0].length;
  const indented = JSON.stringify(entry, null, 2).replace(/\n/g, '\n    ');
  const separator = parsed.configurations.length > 0 ? ',' : '';
  tree.write(LAUNCH_JSON, `${text.slice(0, at)}\n    ${indented}${separator}${text.slice(at)}`);
}

/**
 * Scaffolds a Prism Go plugin that builds and runs as is: go.mod (replacing the core module), main.go, a multi-stage
 * Containerfile, README and the podman-run options; creates the core module beside it when missing, and registers
 * the plugin in nx.json when needed. Every check runs before anything is written.
 */
export async function pluginGenerator(tree: Tree, schema: PluginGeneratorSchema): Promise<NormalizedPluginOptions> {
  const options = normalizePluginOptions(tree, schema);
  await initGenerator(tree, { skipFormat: true });
  writePlugin(tree, options);
  if (!options.skipFormat) await formatFiles(tree);
  const created = options.coreExists ? '' : ` and the core module in ${options.coreRoot}`;
  logger.info(`nx-podman plugin: created ${options.name} in ${options.projectRoot}${created} (port ${options.port}).`);
  const tryIt =
    options.protocol === 'grpc' ? `grpcurl -plaintext 127.0.0.1:${options.port} prism.plugin.v1.Plugin/Info` : `curl http://127.0.0.1:${options.port}/`;
  logger.info(`  next: nx run ${options.name}:podman-build && nx run ${options.name}:podman-run, then ${tryIt}`);
  return options;
}

export default async function (tree: Tree, schema: PluginGeneratorSchema): Promise<void> {
  await pluginGenerator(tree, schema);
}
