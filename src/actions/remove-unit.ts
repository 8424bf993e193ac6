import * as z from 'zod';
import type { ActionDefinition, PlanContext } from './action.js';
import { StepFailedError } from './failure.js';
import { programsLeftAlone } from './host-facts.js';
import type { Records } from './records.js';
import { hostScript } from './script.js';

const quarantineDir = ({ config, runId }: PlanContext): string => `${config.quarantine_dir}/${runId}`;

/** One file or link moved into quarantine (remove-unit.sh writes `moved` and its fields). */
export interface QuarantinedFile {
  /** unit, dropin, wants, copy, hint, binary or installer. */
  kind: string;
  from: string;
  to: string;
  /** sha256 of the quarantined file (also in the quarantine's MANIFEST.sha256); none for a link. */
  sha256: string | undefined;
  linkTarget: string | undefined;
}

function movedFrom(records: Records): QuarantinedFile[] {
  return records.groups('moved').map(({ value, fields }) => ({
    kind: value,
    from: fields.from ?? '',
    to: fields.to ?? '',
    sha256: fields.sha256,
    linkTarget: fields.link,
  }));
}

/** systemd no longer loads the unit, and verify found none of its files where they were. */
const unloaded = (records: Records): boolean => records.complete && records.get('load_state') === 'not-found' && !records.has('left');

export const removeUnit: ActionDefinition<Record<string, never>> = {
  name: 'remove-unit',
  summary: 'Quarantine (never delete) the unit file, drop-ins, wants links, staging copy, programs and installer directory, with a sha256 manifest',
  destructive: true,
  params: z.strictObject({}),
  outcomes: ['quarantined'],
  plan(_params, context) {
    const quarantine = quarantineDir(context);
    return [
      {
        purpose: `move ${context.target.unit} and what it ran into ${quarantine} (root-only, sha256 manifest), daemon-reload if systemd still holds it`,
        where: 'host',
        command: hostScript('remove-unit', [context.target.unit, quarantine, context.target.pathHint ?? ''], context.timeoutMs),
      },
    ];
  },
  interpret(_params, [run], context) {
    const records = run!.records;
    const { unit } = context.target;
    const quarantine = records.get('quarantine') ?? quarantineDir(context);
    const moved = movedFrom(records);
    const kept = records.groups('kept').map(({ value, fields }) => ({ path: value, kind: fields.kind ?? '', package: fields.package ?? '' }));
    const evidence = {
      quarantine,
      manifest: `${quarantine}/MANIFEST.sha256`,
      ...(records.has('unmasked') ? { unmasked: records.get('unmasked') } : {}),
      moved,
      unlocked: records.groups('unlocked').map(({ value, fields }) => ({ path: value, attrs: fields.attrs })),
      kept,
      skipped: records.all('skipped'),
      ...programsLeftAlone(records),
      removedDirectories: records.all('removed_dir'),
      loadState: records.get('load_state'),
      // The load state that made a daemon-reload necessary, when one was.
      ...(records.has('reloaded') ? { reloadedFrom: records.get('reloaded') } : {}),
    };
    if (!records.complete || records.get('load_state') !== 'not-found') {
      const packaged = kept.filter((file) => file.kind !== 'binary');
      const packages = [...new Set(packaged.map((file) => file.package))];
      if (packages.length > 0) {
        throw new StepFailedError(
          `systemd still loads ${unit}: ${packaged.map((file) => file.path).join(', ')} belong to package ${packages.join(', ')}; soar never moves packaged files, remove the package with its package manager (e.g. apt purge ${packages.join(' ')})`,
          { retryable: false, evidence },
        );
      }
      throw new StepFailedError(`systemd still loads ${unit} (${records.get('load_state') ?? 'no answer'}) after quarantine`, { retryable: true, evidence });
    }
    const unlocked = evidence.unlocked.length > 0 ? `; cleared immutable/append-only flags on ${evidence.unlocked.map((file) => file.path).join(', ')}` : '';
    const left = [
      evidence.unnamablePrograms && `; LEFT IN PLACE, remove by hand (a newline in the path, which soar does not act on): ${evidence.unnamablePrograms.join(', ')}`,
      evidence.unverifiedPrograms && `; LEFT IN PLACE, no package database to tell it from the system's: ${evidence.unverifiedPrograms.join(', ')}`,
      evidence.unownedPrograms && `; LEFT IN PLACE, no package's but among the system's programs with no miner signature (an interpreter others may run): ${evidence.unownedPrograms.join(', ')}`,
    ].filter(Boolean).join('');
    return {
      outcome: 'quarantined',
      summary:
        moved.length === 0
          ? `nothing of ${unit} was left to quarantine; systemd does not load it`
          : `quarantined ${moved.length} file(s) in ${quarantine}: ${moved.map((file) => `${file.kind} ${file.from}`).join(', ')}${unlocked}; ${unit} no longer loads${left}`,
      changed: moved.length > 0,
      evidence,
    };
  },
  verify(_params, { target, timeoutMs }) {
    return { command: hostScript('remove-unit-verify', [target.unit, target.pathHint ?? ''], timeoutMs), holds: unloaded };
  },
};
