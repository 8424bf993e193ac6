import { z } from 'zod';
import type { ActionDefinition } from './action.js';
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
};
