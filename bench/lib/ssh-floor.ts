import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/** One line ssh sends for a plan step, as `soar plan --json` gives it. */
export interface RemoteLine {
  line: string;
  stdin?: string;
  /** The step needs a new SSH connection (isolate proves management access with one). */
  fresh: boolean;
  purpose: string;
}

/** Where and as whom to reach a host, with its pinned key. */
export interface SshEndpoint {
  address: string;
  port: number;
  user: string;
  identityFile: string;
  knownHostsPath: string;
}

/** A remote line that did not exit 0: the floor is only a floor if it did the same work. */
export class FloorLineFailed extends Error {
  constructor(endpoint: SshEndpoint, line: RemoteLine, exitCode: number | undefined, stderr: string) {
    super(`floor: "${line.purpose}" on ${endpoint.address} exited ${exitCode ?? 'by a signal'}: ${stderr.trim().slice(0, 300)}`);
  }
}

function sshOptions(endpoint: SshEndpoint): string[] {
  return [
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${endpoint.knownHostsPath}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'IdentitiesOnly=yes',
    '-i', endpoint.identityFile,
    '-p', String(endpoint.port),
    '-l', endpoint.user,
  ];
}

/**
 * The floor: the plan's lines run in order by OpenSSH over one ControlMaster connection; a line
 * marked fresh gets its own new connection, as soar's does.
 */
export async function runFloor(endpoint: SshEndpoint, lines: RemoteLine[]): Promise<void> {
  const controlDir = await mkdtemp(join(tmpdir(), 'soar-floor-'));
  const master = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${join(controlDir, 'cm')}`, '-o', 'ControlPersist=60'];
  try {
    for (const line of lines) {
      const connection = line.fresh ? ['-o', 'ControlMaster=no', '-o', 'ControlPath=none'] : master;
      const result = await execa('ssh', [...sshOptions(endpoint), ...connection, endpoint.address, line.line], {
        input: line.stdin ?? '',
        reject: false,
        encoding: 'buffer',
        timeout: 120_000,
      });
      if (result.exitCode !== 0) throw new FloorLineFailed(endpoint, line, result.exitCode, Buffer.from(result.stderr).toString());
    }
  } finally {
    await execa('ssh', [...sshOptions(endpoint), ...master, '-O', 'exit', endpoint.address], { reject: false, stdin: 'ignore' });
    await rm(controlDir, { recursive: true, force: true });
  }
}
