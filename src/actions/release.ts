import * as z from 'zod';
import type { ActionDefinition } from './action.js';
import { StepFailedError } from './failure.js';
import { hostScript } from './script.js';

export const release: ActionDefinition<Record<string, never>> = {
  name: 'release',
  summary: "Remove soar's isolation table and any armed revert timer",
  destructive: true,
  params: z.strictObject({}),
  outcomes: ['released'],
  plan(_params, { timeoutMs }) {
    return [{ purpose: 'disarm revert timers and delete the isolation table', where: 'host', command: hostScript('release', [], timeoutMs) }];
  },
  interpret(_params, [run]) {
    const records = run!.records;
    if (!records.complete) throw new StepFailedError('release output ended early; run the step again', { retryable: true });
    const released = records.get('released') === '1';
    const disarmed = records.all('disarmed');
    return {
      outcome: 'released',
      summary: released ? 'isolation removed' : 'the host was not isolated',
      changed: released || disarmed.length > 0,
      evidence: { released, disarmed },
    };
  },
  verify(_params, { timeoutMs }) {
    return {
      command: hostScript('isolate-verify', [], timeoutMs),
      holds: (records) => records.complete && records.get('table') === 'absent' && records.get('revert_timer') === 'disarmed',
    };
  },
};
