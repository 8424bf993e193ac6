// The extraction that builds a Target (and every grammar check it makes) lives in its own module.
export { extractTarget } from './extract-target.js';

/**
 * What a response acts on, extracted from a taken alert. Every value here has passed its grammar
 * check (src/grammar.ts); only these values may ever reach a command, and only as whole arguments.
 */
export interface Target {
  alertId: string;
  host: {
    /** `host.name`: the inventory key that says how to reach the host. */
    name: string;
    id: string | undefined;
    addresses: string[];
    os: 'linux';
  };
  /** The systemd unit the alert is about (the alert's `file.name`), e.g. `c3pool_miner.service`. */
  unit: string;
  /** The alert's `file.path`: a hint of where the unit file was written, not the truth. */
  pathHint: string | undefined;
  /** The process that wrote the unit file (the installer), kept as evidence; never killed blindly. */
  writer: TargetProcess | undefined;
  user: { id: string | undefined; name: string | undefined };
}

export interface TargetProcess {
  pid: number | undefined;
  entityId: string | undefined;
  executable: string | undefined;
  /** Free text, evidence only: never passed to a command. */
  commandLine: string | undefined;
  parent: { pid: number | undefined; entityId: string | undefined; executable: string | undefined } | undefined;
}
