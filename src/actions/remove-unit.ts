import { z } from 'zod';
import type { ActionDefinition } from './action.js';
import { hostScript } from './script.js';

export const removeUnit: ActionDefinition<Record<string, never>> = {
  name: 'remove-unit',
  summary: 'Quarantine (never delete) the unit file, drop-ins, wants links, staging copy, binary and installer directory, with a sha256 manifest',
  destructive: true,
  params: z.strictObject({}),
  outcomes: ['quarantined'],
  plan(_params, { target, config, runId, timeoutMs }) {
    const quarantine = `${config.quarantine_dir}/${runId}`;
    return [
      {
        purpose: `move the unit and what it ran into ${quarantine} (root-only, sha256 manifest), daemon-reload`,
        where: 'host',
        command: hostScript('remove-unit', [target.unit, quarantine, target.pathHint ?? ''], timeoutMs),
      },
    ];
  },
};
