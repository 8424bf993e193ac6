import { z } from 'zod';
import type { ActionDefinition } from './action.js';
import { StepFailedError } from './failure.js';
import { connectionsFrom, processesFrom } from './host-facts.js';
import type { Records } from './records.js';
import { hostScript } from './script.js';

const params = z.strictObject({
  signal: z.enum(['KILL', 'TERM']).default('KILL'),
  /** Mask instead of disable: nothing, not even a dependency, can start the unit again. */
  mask: z.boolean().default(false),
});

/** The unit's processes are gone and it is not active: what verify and settle check. */
const stopped = (records: Records): boolean =>
  records.complete && records.all('left').length === 0 && !['active', 'activating', 'reloading'].includes(records.get('active') ?? '');

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
  interpret(_params, [run]) {
    const records = run!.records;
    const processes = processesFrom(records);
    if (!stopped(records)) {
      throw new StepFailedError(`processes still running after kill: ${records.all('left').join(', ')}`, { retryable: true, evidence: { processes } });
    }
    const killed = records.all('killed');
    return {
      outcome: 'killed',
      summary: processes.length === 0 ? 'no process of the unit was running; unit disabled and stopped' : `stopped ${processes.length} process(es) (${processes.map((process) => `${process.comm ?? '?'}[${process.pid}]`).join(', ')}); unit disabled`,
      changed: processes.length > 0 || killed.length > 0,
      evidence: { binary: records.get('binary'), processes, connections: connectionsFrom(records), killed, disabled: records.has('disabled'), masked: records.has('masked') },
    };
  },
  verify(stepParams, { target, timeoutMs }) {
    return { command: hostScript('kill-process-verify', [target.unit], timeoutMs), holds: stopped };
  },
};
