import * as z from 'zod';
import type { ActionDefinition } from './action.js';
import { StepFailedError } from './failure.js';
import { connectionsFrom, processesFrom, programsLeftAlone } from './host-facts.js';
import type { Records } from './records.js';
import { hostScript } from './script.js';

const params = z.strictObject({
  signal: z.enum(['KILL', 'TERM']).default('KILL'),
  /** Also mask: nothing, not even a dependency, can start the unit again (systemd refuses for a unit file in /etc). */
  mask: z.boolean().default(false),
});

const RUNNING_STATES = ['active', 'activating', 'deactivating', 'reloading'];
const ENABLED_STATES = ['enabled', 'enabled-runtime'];

/** The unit is stopped and not enabled, and none of its processes is left: what verify and settle check. */
function stopped(records: Records, prefix = ''): boolean {
  return (
    records.complete &&
    records.all('left').length === 0 &&
    !RUNNING_STATES.includes(records.get(`${prefix}active`) ?? '') &&
    !ENABLED_STATES.includes(records.get(`${prefix}enabled`) ?? '')
  );
}

export const killProcess: ActionDefinition<z.infer<typeof params>> = {
  name: 'kill-process',
  summary: 'Capture process evidence, disable the unit and stop it so Restart=always cannot respawn it, kill its cgroup and every process running its own programs',
  destructive: true,
  params,
  outcomes: ['killed'],
  plan(stepParams, { target, timeoutMs }) {
    return [
      {
        purpose: `capture evidence, disable${stepParams.mask ? ' and mask' : ''} and stop ${target.unit}, kill what it left (SIG${stepParams.signal}), check none is left`,
        where: 'host',
        command: hostScript('kill-process', [target.unit, stepParams.signal, stepParams.mask ? 'mask' : 'disable'], timeoutMs),
      },
    ];
  },
  interpret(_params, [run], { target }) {
    const records = run!.records;
    const processes = processesFrom(records);
    const pids = new Set(processes.map((process) => process.pid));
    const before = { active: records.get('before.active'), enabled: records.get('before.enabled') };
    const after = { active: records.get('after.active'), enabled: records.get('after.enabled') };
    const evidence = {
      unit: target.unit,
      programs: records.all('binary'),
      ...programsLeftAlone(records),
      before,
      after,
      processes,
      connections: connectionsFrom(records).filter((connection) => connection.processes.some((process) => pids.has(process.pid))),
      killed: records.all('killed').map(Number),
      disabled: records.get('disabled'),
      ...(records.has('disable_failed') ? { disableFailed: records.get('disable_failed') } : {}),
      ...(records.has('masked') ? { masked: records.get('masked') } : {}),
      ...(records.has('mask_failed') ? { maskFailed: records.get('mask_failed') } : {}),
      ...(records.has('spared') ? { spared: [...new Set(records.all('spared').map(Number))] } : {}),
    };
    if (!stopped(records, 'after.')) {
      const left = records.all('left');
      const why = left.length > 0 ? `processes still running: ${left.join(', ')}` : `${target.unit} is ${after.active} and ${after.enabled}`;
      const fix = records.has('disable_failed') ? ` (systemctl disable said: ${records.get('disable_failed')})` : '';
      throw new StepFailedError(`kill-process did not hold: ${why}${fix}`, { retryable: true, evidence });
    }
    const changed = processes.length > 0 || before.active !== after.active || before.enabled !== after.enabled;
    const state = (of: { active: string | undefined; enabled: string | undefined }) => [of.active || 'unknown', of.enabled].filter(Boolean).join(', ');
    const summary =
      processes.length > 0
        ? `stopped ${processes.length} process(es): ${processes.map((process) => `${process.comm ?? '?'}[${process.pid}] ${process.exe}`).join(', ')}; ${target.unit} is ${state(after)}`
        : changed
          ? `no process of ${target.unit} was running; it is now ${state(after)} (was ${state(before)})`
          : `nothing was left to kill: ${target.unit} is ${state(after)} and none of its processes runs`;
    return { outcome: 'killed', summary, changed, evidence };
  },
  verify(_params, { target, timeoutMs }) {
    return { command: hostScript('kill-process-verify', [target.unit], timeoutMs), holds: (records) => stopped(records) };
  },
};
