import { readdirSync, readFileSync } from 'node:fs';

/** One process on the host: its pid, process group and argument vector (root sees them all). */
export interface HostProcess {
  pid: number;
  processGroup: number;
  argv: string[];
}

/** Every process on the host, read from /proc; processes that end while it reads are left out. */
export function hostProcesses(): HostProcess[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const processGroup = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
        return [{ pid: Number(pid), processGroup, argv }];
      } catch {
        return [];
      }
    });
}

/** The command lines (`argv` joined by spaces) of every process on the host. */
export function hostCommands(): string[] {
  return hostProcesses().map((process) => process.argv.join(' '));
}

/**
 * podman processes (argv[0] is podman; the conmon monitors of running containers are not) in `processGroup` or with
 * an argument containing `marker` (a workspace path, an image name of the test), as `pid: command` lines.
 */
export function podmanProcesses(processGroup: number, marker: string): string[] {
  return hostProcesses()
    .filter(
      ({ argv, processGroup: group }) =>
        argv[0] !== undefined && /(^|\/)podman$/.test(argv[0]) && (group === processGroup || argv.some((arg) => arg.includes(marker))),
    )
    .map(({ pid, argv }) => `${pid}: ${argv.join(' ')}`);
}
