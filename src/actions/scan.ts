import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ActionDefinition } from './action.js';
import { MINER_PROCESS_NAMES, RULE_UNIT_NAMES } from './indicators.js';
import { hostScript } from './script.js';

const params = z.strictObject({
  /** Run soar's YARA rules on the host when yara is installed there. */
  yara: z.boolean().default(true),
});

const yaraRules = (): string => readFileSync(new URL('./remote/miners.yar', import.meta.url), 'utf8');

export const scan: ActionDefinition<z.infer<typeof params>> = {
  name: 'scan',
  summary: 'Read-only: look for other miner units, persistence (cron, login scripts, SSH keys, ld.so.preload), miner processes, pool connections, YARA matches',
  destructive: false,
  params,
  outcomes: ['clean', 'findings'],
  plan(stepParams, { alertTime, timeoutMs }) {
    const since = String(Math.floor(Date.parse(alertTime) / 1000));
    const command = hostScript('scan', [since, RULE_UNIT_NAMES.join(','), MINER_PROCESS_NAMES.join(',')], timeoutMs);
    return [
      {
        purpose: `scan for what else the attacker left${stepParams.yara ? ', with YARA rules on stdin' : ''} (changes nothing)`,
        where: 'host',
        command: stepParams.yara ? { ...command, stdin: yaraRules() } : command,
      },
    ];
  },
};
