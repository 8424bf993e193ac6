import { z } from 'zod';
import type { ActionDefinition } from './action.js';
import { hostScript } from './script.js';

export const triage: ActionDefinition<Record<string, never>> = {
  name: 'triage',
  summary: 'Read-only: resolve the unit on the host, hash its files, check package ownership, list its processes and connections',
  destructive: false,
  params: z.strictObject({}),
  outcomes: ['malicious', 'suspicious', 'false_positive'],
  plan(_params, { target, timeoutMs }) {
    return [
      {
        purpose: 'collect the unit, its files, package ownership, processes and connections (changes nothing)',
        where: 'host',
        command: hostScript('triage', [target.unit, target.pathHint ?? '', String(target.writer?.pid ?? '')], timeoutMs),
      },
    ];
  },
};
