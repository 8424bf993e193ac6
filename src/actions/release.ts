import { z } from 'zod';
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
    return [{ purpose: 'delete the isolation table', where: 'host', command: hostScript('release', [], timeoutMs) }];
  },
  interpret(_params, [run]) {
    const records = run!.records;
    if (!records.complete) throw new StepFailedError('release output ended early', { retryable: true });
    const released = records.get('released') === '1';
    return {
      outcome: 'released',
      summary: released ? 'isolation removed' : 'the host was not isolated',
      changed: released || records.has('disarmed'),
      evidence: { disarmed: records.all('disarmed') },
    };
  },
  verify(_params, { runId, timeoutMs }) {
    return { command: hostScript('isolate-verify', [runId], timeoutMs), holds: (records) => records.get('table') === 'absent' };
  },
};
