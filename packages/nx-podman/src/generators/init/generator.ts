import { formatFiles, logger, readNxJson, updateNxJson, type Tree } from '@nx/devkit';
import { DEFAULT_PLUGIN_OPTIONS } from '../../plugins/plugin-options';
import type { InitGeneratorSchema } from './schema';

/** The package name under which the plugin is registered in nx.json. */
export const PLUGIN_NAME = '@prism/nx-podman';
/** Where podman-build keeps its build records (workspace-relative); ignored by git. */
export const BUILD_RECORDS_DIR = '.nx/podman';

/** Target names the inference uses, as read from (or defaulted for) the plugin's nx.json entry. */
export interface InferredTargetNames {
  buildTargetName: string;
  runTargetName: string;
  watchTargetName: string;
}

/** What {@link initGenerator} did and left alone, one sentence each, in order. */
export interface InitReport {
  changed: string[];
  skipped: string[];
}

const DEFAULT_TARGET_NAMES: InferredTargetNames = DEFAULT_PLUGIN_OPTIONS;

type PluginEntry = string | { plugin: string; options?: unknown };

function isOurEntry(entry: PluginEntry): boolean {
  return (typeof entry === 'string' ? entry : entry.plugin) === PLUGIN_NAME;
}

/** Reads the inferred target names from the plugin's nx.json entry (defaults where the entry does not set them). */
export function readInferredTargetNames(tree: Tree): InferredTargetNames {
  const entry = ((readNxJson(tree)?.plugins ?? []) as PluginEntry[]).find(isOurEntry);
  const options = (typeof entry === 'object' && entry.options && typeof entry.options === 'object' ? entry.options : {}) as Record<string, unknown>;
  const pick = (key: keyof InferredTargetNames) =>
    typeof options[key] === 'string' && options[key] !== '' ? (options[key] as string) : DEFAULT_TARGET_NAMES[key];
  return { buildTargetName: pick('buildTargetName'), runTargetName: pick('runTargetName'), watchTargetName: pick('watchTargetName') };
}

function registerPlugin(tree: Tree, options: InitGeneratorSchema, report: InitReport): void {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = (nxJson.plugins ?? []) as PluginEntry[];
  const requested = Object.fromEntries(
    (['buildTargetName', 'runTargetName', 'watchTargetName'] as const).filter((key) => options[key] !== undefined).map((key) => [key, options[key] as string]),
  );
  if (plugins.some(isOurEntry)) {
    const note = Object.keys(requested).length
      ? ` (the requested ${Object.keys(requested).join(', ')} were not applied: edit its entry in nx.json to change them)`
      : '';
    report.skipped.push(`${PLUGIN_NAME} is already registered in nx.json; kept its options${note}`);
    return;
  }
  const entry: PluginEntry = Object.keys(requested).length ? { plugin: PLUGIN_NAME, options: requested } : PLUGIN_NAME;
  updateNxJson(tree, { ...nxJson, plugins: [...plugins, entry] } as typeof nxJson);
  report.changed.push(`registered ${PLUGIN_NAME} in nx.json plugins`);
}

// A .gitignore line covers the records directory when it names it or one of its parents (".nx", "/.nx/", ".nx/**").
function coversRecordsDir(line: string): boolean {
  const pattern = line
    .trim()
    .replace(/^\//, '')
    .replace(/\/\*\*$/, '')
    .replace(/\/$/, '');
  return pattern === '.nx' || pattern === BUILD_RECORDS_DIR;
}

function ignoreBuildRecords(tree: Tree, report: InitReport): void {
  const current = tree.exists('.gitignore') ? (tree.read('.gitignore', 'utf-8') ?? '') : '';
  if (current.split(/\r?\n/).some(coversRecordsDir)) {
    report.skipped.push(`.gitignore already ignores ${BUILD_RECORDS_DIR}`);
    return;
  }
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  tree.write('.gitignore', `${current}${separator}# @prism/nx-podman build records\n/${BUILD_RECORDS_DIR}\n`);
  report.changed.push(`added /${BUILD_RECORDS_DIR} to .gitignore`);
}

/**
 * Registers the plugin in nx.json and makes git ignore its build records. Idempotent: an existing registration and
 * its options are kept, and nothing the user wrote is replaced. Returns what it did and what it skipped.
 */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<InitReport> {
  const report: InitReport = { changed: [], skipped: [] };
  registerPlugin(tree, options, report);
  ignoreBuildRecords(tree, report);
  for (const line of report.changed) logger.info(`nx-podman init: ${line}`);
  for (const line of report.skipped) logger.info(`nx-podman init: skipped: ${line}`);
  if (!options.skipFormat) await formatFiles(tree);
  return report;
}

export default async function (tree: Tree, options: InitGeneratorSchema): Promise<void> {
  await initGenerator(tree, options);
}
