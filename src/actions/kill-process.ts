import { z } from 'zod';
import type { ActionDefinition } from './action.js';
import { hostScript } from './script.js';

const params = z.strictObject({
  signal: z.enum(['KILL', 'TERM']).default('KILL'),
  /** Mask instead of disable: nothing, not even a dependency, can start the unit again. */
  mask: z.boolean().default(false),
});

export const killProcess: ActionDefinition<z.infer<typeof params>> = {
  name: 'kill-process',
  summary: "Capture process evidence, disable and stop the unit so Restart=always cannot respawn it, kill its cgroup and every process running its binary",
  destructive: true,
  params,
  outcomes: ['killed'],
  plan(stepParams, { target, timeoutMs }) {
    return [
      {
        purpose: `capture evidence, ${stepParams.mask ? 'mask' : 'disable'} and stop the unit, kill what it left (SIG${stepParams.signal}), check none is left`,
        where: 'host',
        command: hostScript('kill-process', [target.unit, stepParams.signal, stepParams.mask ? 'mask' : 'disable'], timeoutMs),
      },
    ];
  },
};
