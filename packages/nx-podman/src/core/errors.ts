/**
 * Errors the adapters throw and the runners recognise (`instanceof`). Declared in core so that runners never import
 * an adapter to tell them apart. Each keeps what caused it in `cause`.
 */

/** Thrown when an executable cannot be started (not installed, not executable). */
export class CommandNotFoundError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`Cannot run "${file}": ${(cause as Error)?.message ?? cause}. Is it installed and on PATH?`, { cause });
    this.name = 'CommandNotFoundError';
  }
}

/** Thrown when podman cannot be started or does not answer `podman version`. */
export class PodmanUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PodmanUnavailableError';
  }
}

/** Thrown when the build context cannot be read. */
export class ContextReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContextReadError';
  }
}

/** The fix printed when the inotify watch limit is reached. */
export const INOTIFY_LIMIT_FIX =
  'raise the inotify limits: sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 ' +
  '(persist them in /etc/sysctl.d/90-inotify.conf), or set "usePolling": true';
