import type { Records } from './records.js';

/** A process as the prelude's process_facts describes it. */
export interface ProcessFacts {
  pid: number;
  ppid: number | undefined;
  user: string | undefined;
  cpuPercent: number | undefined;
  elapsedSeconds: number | undefined;
  comm: string | undefined;
  exe: string;
  cwd: string;
  cmdline: string;
  sha256: string | undefined;
}

/** An established TCP connection as `ss -Htnp` prints it. */
export interface ConnectionFacts {
  local: string;
  peer: string;
  peerAddress: string;
  peerPort: number;
  /** PIDs and names of the processes holding the socket. */
  processes: Array<{ pid: number; name: string }>;
  line: string;
}

export function processesFrom(records: Records): ProcessFacts[] {
  return records.all('proc').map((pidText) => {
    const facts = records.under(`proc.${pidText}.`);
    const [ppid, user, pcpu, etimes, ...comm] = (facts.stat ?? '').trim().split(/\s+/);
    return {
      pid: Number(pidText),
      ppid: ppid === undefined || ppid === '' ? undefined : Number(ppid),
      user,
      cpuPercent: pcpu === undefined ? undefined : Number(pcpu),
      elapsedSeconds: etimes === undefined ? undefined : Number(etimes),
      comm: comm.length > 0 ? comm.join(' ') : undefined,
      exe: facts.exe ?? '',
      cwd: facts.cwd ?? '',
      cmdline: (facts.cmdline ?? '').trimEnd(),
      sha256: facts.sha256 || undefined,
    };
  });
}

/** Splits `addr:port` (IPv6 in brackets or bare, as ss prints it). */
function splitEndpoint(endpoint: string): { address: string; port: number } {
  const colon = endpoint.lastIndexOf(':');
  return { address: endpoint.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(endpoint.slice(colon + 1)) };
}

export function connectionsFrom(records: Records): ConnectionFacts[] {
  return records.all('conn').flatMap((line) => {
    // Recv-Q Send-Q Local Peer [Process]
    const [, , local, peer, ...rest] = line.trim().split(/\s+/);
    if (local === undefined || peer === undefined) return [];
    const { address, port } = splitEndpoint(peer);
    const processes = [...rest.join(' ').matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=\d+\)/g)].map((match) => ({
      name: match[1]!,
      pid: Number(match[2]),
    }));
    return [{ local, peer, peerAddress: address, peerPort: port, processes, line }];
  });
}

/** A file as the prelude's file_facts describes it under a label (fragment, hint, binary, wants…). */
export interface FileFacts {
  path: string;
  exists: boolean;
  linkTarget: string | undefined;
  sha256: string | undefined;
  /** Modification time, seconds since the epoch. */
  mtime: number | undefined;
  /** lsattr's flags, e.g. `----i---------e-------`. */
  attrs: string | undefined;
  /** Immutable (`i`) or append-only (`a`): rm and mv fail until the flag is cleared. */
  immutable: boolean;
  package: string | undefined;
  packageModified: boolean;
  /** Miner strings found in the file (triage looks in the unit's programs). */
  minerStrings: string[];
}

/** Every file recorded under a label, in order (a label may repeat, e.g. several wants links). */
export function filesFrom(records: Records, label: string): FileFacts[] {
  return records.groups(`${label}.path`, `${label}.`).map(({ value, fields }) => ({
    path: value,
    exists: fields.missing === undefined,
    linkTarget: fields.link,
    sha256: fields.sha256 || undefined,
    mtime: fields.mtime ? Number(fields.mtime) : undefined,
    attrs: fields.attrs || undefined,
    // lsattr writes a dash for every unset flag: only the letters of set flags are left.
    immutable: /[ia]/.test((fields.attrs ?? '').replace(/-/g, '')),
    package: fields.package || undefined,
    packageModified: fields.package_modified === '1',
    minerStrings: (fields.miner_strings ?? '').split(' ').filter((text) => text !== ''),
  }));
}

/** A file owned by a package whose checksum still matches what the package shipped. */
export function isPackaged(file: FileFacts | undefined): boolean {
  return Boolean(file?.exists && file.package !== undefined && !file.packageModified);
}

/**
 * The unit's programs that foreign_programs (prelude.sh) leaves alone, never hunting or moving them
 * by path, named here for the analyst: those whose path holds a newline (escaped), and those in
 * the system's program directories that carry no miner signature: on a host with no package
 * database (unverified: they cannot be told from the system's), or owned by no package (unowned:
 * an interpreter built by hand, most likely, that others run too).
 */
export function programsLeftAlone(records: Records): { unnamablePrograms?: string[]; unverifiedPrograms?: string[]; unownedPrograms?: string[] } {
  const unnamable = records.all('unnamable');
  const unverified = records.all('unverified');
  const unowned = records.all('unowned');
  return {
    ...(unnamable.length > 0 ? { unnamablePrograms: unnamable.map((path) => JSON.stringify(path)) } : {}),
    ...(unowned.length > 0 ? { unownedPrograms: unowned } : {}),
    ...(unverified.length > 0 ? { unverifiedPrograms: unverified } : {}),
  };
}
