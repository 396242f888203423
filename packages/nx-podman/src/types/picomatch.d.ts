// picomatch ships no types and @types/picomatch is not a dependency: the part of its API this package uses.
declare module 'picomatch' {
  interface PicomatchOptions {
    /** Match dotfiles. */
    dot?: boolean;
    /** Match basenames anywhere when the pattern has no slash. */
    basename?: boolean;
    nocase?: boolean;
  }
  function picomatch(glob: string | readonly string[], options?: PicomatchOptions): (input: string) => boolean;
  export default picomatch;
}
