/** A Containerfile stage name as podman accepts it for `--target`. */
const STAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** What a valid stage looks like, for the "expected" part of an option error. */
export const STAGE_NAME_EXPECTED = 'a Containerfile stage name (letters, digits, "_", "." or "-"), e.g. "production" or "debug"';

/** Whether `value` is a stage name podman accepts. */
export function isStageName(value: unknown): value is string {
  return typeof value === 'string' && STAGE_NAME.test(value);
}

/**
 * Values watch-reload validated once and sets over a build or run target's own options: the stage of its
 * configuration, and its podman connection options. The build/run normalizers take them as given.
 */
export interface TargetOverrides {
  readonly stage?: string;
  readonly podman?: string;
  readonly remote?: boolean;
  readonly connection?: string;
}

/** The keys of `overrides` that are set (an undefined override leaves the option alone). */
export function definedOnly(overrides: TargetOverrides | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(overrides ?? {}).filter(([, value]) => value !== undefined));
}
