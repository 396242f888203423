import { getProjects, visitNotIgnoredFiles, type ProjectConfiguration, type Tree } from '@nx/devkit';
import { posix } from 'node:path';
import { parseGoMod } from '../../core/go-module';
import { commonAncestorDir, isWithin } from '../../core/workspace-paths';
import { readInferredTargetNames } from '../init/generator';
import type { PluginGeneratorSchema, PluginHealthCheckKind } from './schema';

/** Real-world defaults: official images from public registries. */
export const DEFAULT_BUILDER_IMAGE = 'docker.io/library/golang:1.26';
/** The `go` line of the generated go.mod files: the Go of the default builder image. */
export const GO_VERSION = '1.26.0';
export const DEFAULT_RUNTIME_IMAGE = 'gcr.io/distroless/static-debian12:nonroot';
export const DEFAULT_DEBUG_IMAGE = 'gcr.io/distroless/static-debian12:debug-nonroot';
/** First port handed out to a plugin. */
export const FIRST_PORT = 9090;
/** The debug container publishes on `port + DEBUG_PORT_OFFSET`, so production and debug can run side by side. */
export const DEBUG_PORT_OFFSET = 1000;
/** The debug container publishes Delve's port (2345 inside) on `port + DELVE_PORT_OFFSET`: one per plugin. */
export const DELVE_PORT_OFFSET = 2000;
/** Delve's port inside the debug container. */
export const DELVE_CONTAINER_PORT = 2345;
/** The Delve release the `install` way builds in the builder image (Delve 1.27 debugs Go 1.24 to 1.26). */
export const DELVE_VERSION = 'v1.27.2';
/** What the generated plugin serves: a gRPC service (health, reflection, its own Plugin service) or HTTP/JSON. */
export type PluginProtocol = 'grpc' | 'http';
/** Where the debug stage gets `dlv`: built with `go install` in a stage of its own, or already in the debug image. */
export type DelveSource = 'install' | 'image';
/** Tag every generated plugin gets, so one watch target can select them all (`"projects": ["tag:plugin"]`). */
export const PLUGIN_TAG = 'plugin';

/** Plugin generator options after defaults and validation: no optional fields. */
export interface NormalizedPluginOptions {
  readonly name: string;
  /** Workspace-relative plugin directory (`plugins/postgres`). */
  readonly projectRoot: string;
  readonly port: number;
  /** Host port of the debug container. */
  readonly debugPort: number;
  /** Host port of Delve in the debug container (127.0.0.1). */
  readonly delvePort: number;
  readonly delveContainerPort: number;
  readonly delve: DelveSource;
  readonly delveVersion: string;
  /** Workspace-relative core module directory (`plugins/core`). */
  readonly coreRoot: string;
  /** The core module exists already and is left alone. */
  readonly coreExists: boolean;
  /** Go module path of the core module (read from its go.mod when it exists). */
  readonly coreModule: string;
  /** Go module path of the plugin. */
  readonly pluginModule: string;
  /** `replace` target for the core module, relative to the plugin (`../core`). */
  readonly coreFromPlugin: string;
  /**
   * Workspace-relative build context: the nearest common parent of the plugin and core (`plugins`), which is what the
   * graph inference gives podman-build. `.` for the workspace root.
   */
  readonly context: string;
  /** Plugin and core directories relative to the context (`postgres`, `core`). */
  readonly pluginInContext: string;
  readonly coreInContext: string;
  readonly builderImage: string;
  readonly runtimeImage: string;
  readonly debugImage: string;
  readonly tags: readonly string[];
  readonly protocol: PluginProtocol;
  readonly healthCheck: PluginHealthCheckKind;
  /** The `go` line of the generated go.mod files. */
  readonly goVersion: string;
  /** Name of the inferred run target, whose options the generated project.json sets. */
  readonly runTargetName: string;
  readonly skipFormat: boolean;
}

/** Invalid plugin generator options or a clash with the workspace; the message names the option, the value and the fix. */
export class PluginGeneratorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PluginGeneratorError';
  }
}

const GO_KEYWORDS = new Set([
  'break',
  'case',
  'chan',
  'const',
  'continue',
  'default',
  'defer',
  'else',
  'fallthrough',
  'for',
  'func',
  'go',
  'goto',
  'if',
  'import',
  'interface',
  'map',
  'package',
  'range',
  'return',
  'select',
  'struct',
  'switch',
  'type',
  'var',
]);
// Lower-case letters and digits: a Go package name by convention, a container name and an Nx project name at once.
const PLUGIN_NAME = /^[a-z][a-z0-9]{0,49}$/;
const MODULE_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._~-]*(\/[A-Za-z0-9._~-]+)*$/;
const IMAGE = /^[^\s]+$/;
const HEALTH_CHECKS: readonly PluginHealthCheckKind[] = ['grpc', 'http', 'tcp', 'command', 'none'];
const PROTOCOLS: readonly PluginProtocol[] = ['grpc', 'http'];
const MIN_PORT = 1024;
const MAX_PORT = 65535 - DELVE_PORT_OFFSET;
/** The host ports a plugin takes: its own, the debug container's, Delve's. */
const portsOf = (port: number) => [port, port + DEBUG_PORT_OFFSET, port + DELVE_PORT_OFFSET];

function invalid(option: string, value: unknown, expected: string): never {
  throw new PluginGeneratorError(`Invalid plugin generator option "${option}": expected ${expected}, received ${JSON.stringify(value)}.`);
}

function validateName(name: unknown): string {
  if (typeof name !== 'string' || !PLUGIN_NAME.test(name)) {
    invalid(
      'name',
      name,
      'a Go package name that is also a container and Nx project name: lower-case letters and digits, starting with a letter, at most 50 characters (e.g. "postgres")',
    );
  }
  if (GO_KEYWORDS.has(name)) invalid('name', name, 'a name that is not a Go keyword');
  return name;
}

/** Workspace-relative, `/`-separated, no `..`; `.` is the workspace root. */
function normalizeDirectory(option: string, value: string): string {
  const trimmed = value.trim().replace(/\\/g, '/');
  if (trimmed === '' || trimmed.startsWith('/') || /^[A-Za-z]:/.test(trimmed)) {
    invalid(option, value, 'a workspace-relative directory such as "plugins/postgres"');
  }
  const normalized = posix.normalize(trimmed).replace(/\/+$/, '');
  if (normalized === '..' || normalized.startsWith('../')) invalid(option, value, 'a directory inside the workspace');
  return normalized;
}

function image(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !IMAGE.test(value)) invalid(option, value, 'an image reference such as "docker.io/library/golang:1.26"');
  return value;
}

/** The `module` path of a go.mod; undefined when it cannot be parsed (the generator then says so). */
function readGoModulePath(text: string, file: string): string | undefined {
  try {
    return parseGoMod(text, file).module;
  } catch {
    return undefined;
  }
}

function fromContext(context: string, path: string): string {
  return context === '.' ? path : posix.relative(context, path);
}

/** Directories (workspace-relative) holding a go.mod: the Go projects the graph inference will create. */
function findGoModuleDirectories(tree: Tree): string[] {
  const directories: string[] = [];
  visitNotIgnoredFiles(tree, '', (path) => {
    if (posix.basename(path) === 'go.mod') directories.push(posix.dirname(path));
  });
  return directories;
}

/** Port numbers in a `ports` entry, a number, or an `http://host:port/...` URL. */
function portsIn(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (typeof value !== 'string') return [];
  const url = /^[a-z]+:\/\/[^/:]+:(\d+)/.exec(value);
  if (url) return [Number(url[1])];
  return value
    .replace(/\/(tcp|udp|sctp)$/, '')
    .split(':')
    .filter((part) => /^\d+$/.test(part))
    .map(Number);
}

function portsInOptions(options: Record<string, unknown> | undefined): number[] {
  if (!options) return [];
  const found: number[] = [];
  if (Array.isArray(options.ports)) for (const entry of options.ports) found.push(...portsIn(entry));
  const env = options.env as Record<string, unknown> | undefined;
  if (env && env.PORT !== undefined) found.push(...portsIn(String(env.PORT)));
  const health = options.healthCheck as Record<string, unknown> | undefined;
  if (health && typeof health === 'object') found.push(...portsIn(health.http), ...portsIn(health.tcp), ...portsIn(health.grpc));
  return found;
}

/** Ports already taken by the workspace's plugins: podman-run options in project.json files and EXPOSE lines. */
function usedPorts(tree: Tree, projects: Map<string, ProjectConfiguration>, goModuleDirectories: readonly string[]): Map<number, string> {
  const used = new Map<number, string>();
  for (const [name, project] of projects) {
    for (const target of Object.values(project.targets ?? {})) {
      const sets = [target.options, ...Object.values(target.configurations ?? {})] as (Record<string, unknown> | undefined)[];
      for (const options of sets) for (const port of portsInOptions(options)) if (!used.has(port)) used.set(port, name);
    }
  }
  for (const directory of goModuleDirectories) {
    for (const file of ['Containerfile', 'Dockerfile']) {
      const path = posix.join(directory, file);
      if (!tree.exists(path)) continue;
      for (const match of (tree.read(path, 'utf-8') ?? '').matchAll(/^\s*EXPOSE\s+(.+)$/gim)) {
        for (const word of match[1].split(/\s+/)) {
          for (const port of portsIn(word)) if (!used.has(port)) used.set(port, posix.basename(directory));
        }
      }
    }
  }
  return used;
}

function choosePort(requested: unknown, used: Map<number, string>): number {
  if (requested !== undefined) {
    if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < MIN_PORT || requested > MAX_PORT) {
      invalid(
        'port',
        requested,
        `an integer from ${MIN_PORT} to ${MAX_PORT} (the debug container publishes port + ${DEBUG_PORT_OFFSET}, and Delve on port + ${DELVE_PORT_OFFSET})`,
      );
    }
    for (const port of portsOf(requested)) {
      const owner = used.get(port);
      if (owner !== undefined) {
        throw new PluginGeneratorError(
          `Invalid plugin generator option "port": ${port} is already used by "${owner}". Choose another --port or leave it out to take the next free one.`,
        );
      }
    }
    return requested;
  }
  for (let port = FIRST_PORT; port <= MAX_PORT; port++) {
    if (portsOf(port).every((taken) => !used.has(taken))) return port;
  }
  throw new PluginGeneratorError(`No free port left from ${FIRST_PORT}: pass --port.`);
}

function parseTags(value: unknown): string[] {
  if (value === undefined) return [PLUGIN_TAG];
  if (typeof value !== 'string') invalid('tags', value, 'comma-separated tags such as "team:data,db"');
  const tags = value
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
  return [...new Set([PLUGIN_TAG, ...tags])];
}

/**
 * Validates the options against the workspace in `tree` and fills in the defaults. Reads only: a clash (an existing
 * project or directory) throws {@link PluginGeneratorError} before anything is written.
 */
export function normalizePluginOptions(tree: Tree, options: PluginGeneratorSchema): NormalizedPluginOptions {
  const name = validateName(options.name);
  const projectRoot = normalizeDirectory('directory', options.directory ?? `plugins/${name}`);
  if (projectRoot === '.') invalid('directory', options.directory, 'a directory of its own, not the workspace root');

  const coreOption = options.core ?? 'core';
  if (typeof coreOption !== 'string') invalid('core', coreOption, 'a directory name or a workspace-relative path');
  const coreRoot = coreOption.includes('/')
    ? normalizeDirectory('core', coreOption)
    : normalizeDirectory('core', posix.join(posix.dirname(projectRoot), coreOption));
  if (projectRoot === coreRoot) {
    invalid('name', name, `a name other than the core module's ("${posix.basename(coreRoot)}", at "${coreRoot}")`);
  }
  if (isWithin(projectRoot, coreRoot) || isWithin(coreRoot, projectRoot)) {
    invalid('core', coreOption, `a directory that neither contains nor is inside the plugin directory "${projectRoot}"`);
  }

  const modulePrefix = options.module ?? 'prism';
  if (typeof modulePrefix !== 'string' || !MODULE_PREFIX.test(modulePrefix)) {
    invalid('module', modulePrefix, 'a Go module path prefix such as "prism" or "github.com/acme/prism"');
  }
  const protocol = options.protocol ?? 'grpc';
  if (!PROTOCOLS.includes(protocol)) invalid('protocol', protocol, `one of ${PROTOCOLS.join(', ')}`);
  const healthCheck = options.healthCheck ?? protocol;
  if (!HEALTH_CHECKS.includes(healthCheck)) invalid('healthCheck', healthCheck, `one of ${HEALTH_CHECKS.join(', ')}`);
  if ((healthCheck === 'grpc' || healthCheck === 'http') && healthCheck !== protocol) {
    const fix = `the ${protocol} plugin serves no ${healthCheck} health check: leave healthCheck out (it follows protocol), or choose ${protocol}, tcp, command or none`;
    invalid('healthCheck', healthCheck, `a check the plugin answers (${fix})`);
  }
  const builderImage = image('builderImage', options.builderImage, DEFAULT_BUILDER_IMAGE);
  const runtimeImage = image('runtimeImage', options.runtimeImage, DEFAULT_RUNTIME_IMAGE);
  const debugImage = image('debugImage', options.debugImage, DEFAULT_DEBUG_IMAGE);
  const delve = options.delve ?? 'install';
  if (delve !== 'install' && delve !== 'image') {
    invalid('delve', delve, '"install" (the Containerfile builds dlv with go install) or "image" (the debug image has dlv on its PATH)');
  }
  const tags = parseTags(options.tags);

  const projects = getProjects(tree);
  const existing = projects.get(name);
  if (existing) {
    throw new PluginGeneratorError(`A project named "${name}" already exists at "${existing.root}". Choose another name for the plugin.`);
  }
  const goModuleDirectories = findGoModuleDirectories(tree);
  const inferred = goModuleDirectories.find((directory) => posix.basename(directory) === name && directory !== projectRoot);
  if (inferred !== undefined) {
    throw new PluginGeneratorError(
      `A Go project named "${name}" already exists at "${inferred}" (its go.mod makes it a project). Choose another name for the plugin.`,
    );
  }
  if (tree.exists(projectRoot)) {
    throw new PluginGeneratorError(`Directory "${projectRoot}" already exists. Choose another name or --directory, or remove the directory first.`);
  }

  const coreGoMod = posix.join(coreRoot, 'go.mod');
  const coreExists = tree.exists(coreGoMod);
  let coreModule = `${modulePrefix}/${posix.basename(coreRoot)}`;
  if (coreExists) {
    const declared = readGoModulePath(tree.read(coreGoMod, 'utf-8') ?? '', coreGoMod);
    if (!declared) throw new PluginGeneratorError(`"${coreGoMod}" has no module line. Fix it, or pass --core with the directory of your core module.`);
    coreModule = declared;
  } else if (tree.exists(coreRoot)) {
    throw new PluginGeneratorError(
      `Core directory "${coreRoot}" exists but has no go.mod. Pass --core with the directory of your core Go module, or remove "${coreRoot}".`,
    );
  }

  const port = choosePort(options.port, usedPorts(tree, projects, goModuleDirectories));
  const context = commonAncestorDir([projectRoot, coreRoot]);
  return Object.freeze({
    name,
    projectRoot,
    port,
    debugPort: port + DEBUG_PORT_OFFSET,
    delvePort: port + DELVE_PORT_OFFSET,
    delveContainerPort: DELVE_CONTAINER_PORT,
    delve,
    delveVersion: DELVE_VERSION,
    coreRoot,
    coreExists,
    coreModule,
    pluginModule: `${modulePrefix}/${name}`,
    coreFromPlugin: posix.relative(projectRoot, coreRoot),
    context,
    pluginInContext: fromContext(context, projectRoot),
    coreInContext: fromContext(context, coreRoot),
    builderImage,
    runtimeImage,
    debugImage,
    tags: Object.freeze(tags),
    protocol,
    healthCheck,
    goVersion: GO_VERSION,
    runTargetName: readInferredTargetNames(tree).runTargetName,
    skipFormat: options.skipFormat ?? false,
  });
}
