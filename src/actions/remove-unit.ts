import { z } from 'zod';
import type { ActionDefinition, PlanContext } from './action.js';
import { StepFailedError } from './failure.js';
import type { Records } from './records.js';
import { hostScript } from './script.js';

const quarantineDir = ({ config, runId }: PlanContext): string => `${config.quarantine_dir}/${runId}`;

/** systemd no longer loads the unit: the effect verify checks. */
const unloaded = (records: Records): boolean => records.complete && ['not-found', ''].includes(records.get('load_state') ?? 'loaded');

export const removeUnit: ActionDefinition<Record<string, never>> = {
  name: 'remove-unit',
  summary: 'Quarantine (never delete) the unit file, drop-ins, wants links, staging copy, binary and installer directory, with a sha256 manifest',
  destructive: true,
  params: z.strictObject({}),
  outcomes: ['quarantined'],
  plan(_params, context) {
    const quarantine = quarantineDir(context);
    return [
      {
        purpose: `move the unit and what it ran into ${quarantine} (root-only, sha256 manifest), daemon-reload`,
        where: 'host',
        command: hostScript('remove-unit', [context.target.unit, quarantine, context.target.pathHint ?? ''], context.timeoutMs),
      },
    ];
  },
  interpret(_params, [run], context) {
    const records = run!.records;
    const moved = records.entries.filter(([key]) => key.startsWith('quarantined.')).map(([key, path]) => ({ kind: key.slice('quarantined.'.length), path, sha256: records.get(`sha256.${path}`) }));
    if (!unloaded(records)) {
      throw new StepFailedError(`systemd still loads ${context.target.unit} (${records.get('load_state')}) after quarantine`, { retryable: true, evidence: { moved } });
    }
    return {
      outcome: 'quarantined',
      summary: moved.length === 0 ? `nothing of ${context.target.unit} was left to quarantine` : `quarantined ${moved.length} file(s) in ${quarantineDir(context)}; the unit no longer loads`,
      changed: moved.length > 0,
      evidence: { quarantine: quarantineDir(context), moved, unlocked: records.all('unlocked'), loadState: records.get('load_state') },
    };
  },
  verify(_params, { target, timeoutMs }) {
    return { command: hostScript('remove-unit-verify', [target.unit], timeoutMs), holds: unloaded };
  },
};
