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

/** The leading `--flag[=value]` words of an instruction's arguments, and the rest as written (trimmed). */
export function splitFlags(rest: string): { flags: string[]; remaining: string } {
  const flags: string[] = [];
  let remaining = rest.trim();
  for (let match = remaining.match(/^(--\S+)\s*/); match; match = remaining.match(/^(--\S+)\s*/)) {
    flags.push(match[1]);
    remaining = remaining.slice(match[0].length);
  }
  return { flags, remaining };
}

/**
 * Splits COPY/ADD arguments into leading `--flags` and the paths, handling the JSON form `["a", "b", "/dst/"]` after
 * flags too (`COPY --chown=1000 ["a b", "/dst/"]`).
 */
function splitCopyArgs(rest: string): { flags: string[]; paths: string[] } {
  const { flags, remaining } = splitFlags(rest);
  if (remaining.startsWith('[')) {
    try {
      const parsed = JSON.parse(remaining) as unknown;
      if (Array.isArray(parsed)) return { flags, paths: parsed.map(String) };
    } catch {
      // not JSON: fall through to whitespace splitting, like podman does
    }
  }
  return { flags, paths: remaining.split(/\s+/).filter(Boolean) };
}

/** One instruction of a Containerfile, continuation lines joined, with the stage it belongs to (-1: before any FROM). */
export interface ContainerfileInstruction {
  /** Upper-cased keyword: `FROM`, `RUN`, `COPY`, ... */
  keyword: string;
  /** Everything after the keyword, trimmed. */
  rest: string;
  line: number;
  stageIndex: number;
}

/** Every instruction in order (comments dropped, continuation lines joined). */
export function parseInstructions(text: string): ContainerfileInstruction[] {
  const result: ContainerfileInstruction[] = [];
  let stageIndex = -1;
  for (const { text: instruction, line } of logicalLines(text)) {
    const match = instruction.match(/^(\w+)\s*(.*)$/s);
    if (!match) continue;
    const keyword = match[1].toUpperCase();
    if (keyword === 'FROM') stageIndex += 1;
    result.push({ keyword, rest: match[2].trim(), line, stageIndex });
  }
  return result;
}

/** Splits COPY/ADD arguments into their `--flags` and paths (JSON form included); exported for the live update recipe. */
export function parseCopyArgs(rest: string): { flags: string[]; paths: string[] } {
  return splitCopyArgs(rest);
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
      const { flags, paths } = splitCopyArgs(rest);
      if (flags.some((flag) => flag.startsWith('--from='))) continue;
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
