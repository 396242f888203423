/** One `FROM` of a Containerfile. */
export interface ContainerfileStage {
  /** The `AS name` (lower-cased, as podman matches it), or undefined for an unnamed stage. */
  name?: string;
  /** The base image or an earlier stage's name. */
  from: string;
  /** 0-based position; `--target` also accepts it. */
  index: number;
  /** 1-based line of the FROM instruction. */
  line: number;
}

/** A `COPY`/`ADD` whose sources come from the build context (not `--from=<stage>`). */
export interface ContainerfileCopy {
  instruction: 'COPY' | 'ADD';
  /** Source paths/globs relative to the build context, as written (URLs for ADD are left out). */
  sources: string[];
  /** Stage the instruction belongs to. */
  stageIndex: number;
  line: number;
}

/** What the plugin needs to know about a Containerfile, read without podman. */
export interface ParsedContainerfile {
  stages: ContainerfileStage[];
  copies: ContainerfileCopy[];
  /** Declared `ARG` names (global and per stage). */
  args: string[];
}

/** Joins continuation lines (trailing backslash) and drops comments, keeping the first line number of each instruction. */
function logicalLines(text: string): { text: string; line: number }[] {
  const result: { text: string; line: number }[] = [];
  let current: { text: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (!current && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current && trimmed.startsWith('#')) return;
    const continued = /\\\s*$/.test(raw);
    const piece = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (current) current.text += ' ' + piece.trim();
    else current = { text: piece.trim(), line: index + 1 };
    if (!continued) {
      result.push(current);
      current = undefined;
    }
  });
  if (current) result.push(current);
  return result;
}

/** Splits instruction arguments, handling the JSON (exec) form `["a", "b"]`. */
function splitArgs(rest: string): string[] {
  const trimmed = rest.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // not JSON: fall through to whitespace splitting, like podman does
    }
  }
  return trimmed.split(/\s+/).filter(Boolean);
}

/** Parses the stages, context copies and ARGs of a Containerfile/Dockerfile. Heredocs and parser directives are ignored. */
export function parseContainerfile(text: string): ParsedContainerfile {
  const stages: ContainerfileStage[] = [];
  const copies: ContainerfileCopy[] = [];
  const args: string[] = [];
  for (const { text: instruction, line } of logicalLines(text)) {
    const match = instruction.match(/^(\w+)\s+(.*)$/s);
    if (!match) continue;
    const keyword = match[1].toUpperCase();
    const rest = match[2];
    if (keyword === 'FROM') {
      const parts = rest.split(/\s+/).filter((part) => !part.startsWith('--'));
      const asIndex = parts.findIndex((part) => part.toUpperCase() === 'AS');
      stages.push({ from: parts[0], name: asIndex >= 0 ? parts[asIndex + 1]?.toLowerCase() : undefined, index: stages.length, line });
    } else if (keyword === 'COPY' || keyword === 'ADD') {
      const parts = splitArgs(rest);
      const flags = parts.filter((part) => part.startsWith('--'));
      if (flags.some((flag) => flag.startsWith('--from='))) continue;
      const paths = parts.filter((part) => !part.startsWith('--'));
      const sources = paths.slice(0, -1).filter((source) => !/^[a-z]+:\/\//i.test(source) && !source.startsWith('<<'));
      if (sources.length) copies.push({ instruction: keyword, sources, stageIndex: Math.max(stages.length - 1, 0), line });
    } else if (keyword === 'ARG') {
      for (const part of rest.split(/\s+/)) if (part) args.push(part.split('=')[0]);
    }
  }
  return { stages, copies, args };
}

/** Stage names a `--target` may name (named stages only). */
export function stageNames(parsed: ParsedContainerfile): string[] {
  return parsed.stages.flatMap((stage) => (stage.name ? [stage.name] : []));
}

/**
 * The stages a build of `target` may go through: the target and every stage before it (podman builds the ones the
 * target needs, which can include `COPY --from=` stages, so every earlier stage counts to stay safe).
 * No target: all stages. Unknown target: undefined.
 */
export function stagesFor(parsed: ParsedContainerfile, target: string | undefined): ContainerfileStage[] | undefined {
  if (target === undefined) return parsed.stages;
  const start = parsed.stages.find((stage) => stage.name === target.toLowerCase());
  return start ? parsed.stages.filter((stage) => stage.index <= start.index) : undefined;
}
