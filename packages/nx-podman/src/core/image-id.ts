/**
 * Image ids in one form. podman writes `sha256:<hex>` to `--iidfile` and `image ls --no-trunc`, but `inspect`'s
 * `{{.Id}}`/`{{.Image}}` give the bare hex: every comparison goes through {@link sameImage}, every id stored or passed
 * on through {@link fullImageId}.
 */

/** `0123…` or `sha256:0123…` → `sha256:0123…` (trimmed); anything else is returned trimmed. */
export function fullImageId(id: string): string {
  const trimmed = id.trim();
  if (trimmed === '' || trimmed.startsWith('sha256:')) return trimmed;
  return /^[0-9a-f]{64}$/.test(trimmed) ? `sha256:${trimmed}` : trimmed;
}

/** Whether two image ids name the same image, whatever their form. */
export function sameImage(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return a.trim().replace(/^sha256:/, '') === b.trim().replace(/^sha256:/, '');
}

/** `sha256:0123456789abcdef...` → `0123456789ab` (what `podman images` shows). */
export function shortImageId(imageId: string): string {
  const hex = imageId.replace(/^sha256:/, '');
  return /^[0-9a-f]{64}$/.test(hex) ? hex.slice(0, 12) : imageId;
}
