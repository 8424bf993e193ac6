import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/alert/alert.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { TRIGGER_SCHEMA, matchTrigger, type Trigger } from '../../../src/alert/trigger.js';
import { exampleHit, exampleWith, readFixture } from './example.js';

const MINING_RULE_ID = 'e2258f48-ba75-4248-951b-7c885edf18c2';
const MINING_RULE_NAME = 'Suspicious Mining Process Creation Event';
const MINING_UNITS = [
  'aliyun.service',
  'moneroocean_miner.service',
  'c3pool_miner.service',
  'pnsd.service',
  'apache4.service',
  'pastebin.service',
  'xvf.service',
];

const MINING_TRIGGER: Trigger = TRIGGER_SCHEMA.parse({
  rule_ids: [MINING_RULE_ID],
  rule_names: [MINING_RULE_NAME],
  file_names: MINING_UNITS,
  os: ['linux'],
});

function alertOf(hit: unknown): Alert {
  const [alert] = parseAlerts(hit);
  if (alert === undefined) throw new Error('no alert');
  return alert;
}

describe('matchTrigger', () => {
  it('the example alert is taken by the mining rule\'s trigger', () => {
    expect(matchTrigger(MINING_TRIGGER, alertOf(exampleHit()))).toEqual({ taken: true });
  });

  it('the 8.1 alert is declined: another rule, and no unit file', () => {
    expect(matchTrigger(MINING_TRIGGER, alertOf(readFixture('kibana-8.1-linux-host-other-rule.hit.json')))).toEqual({
      taken: false,
      reasons: [
        'kibana.alert.rule.rule_id "53000028-120c-4e55-a8c0-db092e05aef4" (rule "threat-match-rule") is not one this playbook takes',
        `file.name (absent) is not one of ${MINING_UNITS.join(', ')}`,
      ],
    });
  });

  it('the Windows alert is declined for every reason at once: another rule, another file, and Windows', () => {
    expect(matchTrigger(MINING_TRIGGER, alertOf(readFixture('kibana-8.5-file-event-windows.hit.json')))).toEqual({
      taken: false,
      reasons: [
        'kibana.alert.rule.rule_id "1e505276-9f3e-4b7e-aeb3-8fe96a16dc08" (rule "Testing Process Rule") is not one this playbook takes',
        `file.name ".winlogbeat.yml" is not one of ${MINING_UNITS.join(', ')}`,
        'host.os.type "windows" is not linux',
      ],
    });
  });

  it('the rule is known by its id or by its name', () => {
    const renamed = alertOf(exampleWith('kibana.alert.rule.name', 'Mining (customised copy)'));
    expect(matchTrigger(MINING_TRIGGER, renamed)).toEqual({ taken: true });
    const copied = alertOf(exampleWith('kibana.alert.rule.rule_id', 'f0000000-0000-4000-8000-000000000000'));
    expect(matchTrigger(MINING_TRIGGER, copied)).toEqual({ taken: true });
    const byIdOnly = TRIGGER_SCHEMA.parse({ rule_ids: [MINING_RULE_ID] });
    expect(matchTrigger(byIdOnly, copied)).toMatchObject({ taken: false });
  });

  it('criteria left empty take any value', () => {
    const byName = TRIGGER_SCHEMA.parse({ rule_names: ['threat-match-rule'] });
    expect(matchTrigger(byName, alertOf(readFixture('kibana-8.1-linux-host-other-rule.hit.json')))).toEqual({ taken: true });
  });

  it('matches exactly: case and look-alikes do not count', () => {
    const reasons = (field: string, value: string): unknown => matchTrigger(MINING_TRIGGER, alertOf(exampleWith(field, value)));
    expect(reasons('file.name', 'C3pool_miner.service')).toMatchObject({ taken: false });
    expect(reasons('host.os.type', 'Linux')).toEqual({ taken: false, reasons: ['host.os.type "Linux" is not linux'] });
  });

  it('shows hostile values escaped in its reasons', () => {
    const match = matchTrigger(MINING_TRIGGER, alertOf(exampleWith('file.name', 'x.service\n\u202eevil')));
    expect(match).toEqual({ taken: false, reasons: [`file.name "x.service\\n\\u202eevil" is not one of ${MINING_UNITS.join(', ')}`] });
  });
});

describe('TRIGGER_SCHEMA', () => {
  it('fills defaults', () => {
    expect(TRIGGER_SCHEMA.parse({ rule_ids: ['r'] })).toEqual({ rule_ids: ['r'], rule_names: [], file_names: [], os: [] });
  });

  it.each([
    [{}, 'rule_ids'],
    [{ rule_ids: [], rule_names: [] }, 'rule_ids'],
    [{ rule_ids: [''] }, 'rule_ids.0'],
    [{ rule_ids: ['r'], file_names: ['c3pool_miner.service;rm'] }, 'file_names.0'],
    [{ rule_ids: ['r'], os: ['Linux'] }, 'os.0'],
    [{ rule_ids: ['r'], hosts: ['web-01'] }, ''],
  ])('refuses %j (at %s)', (trigger, path) => {
    const result = TRIGGER_SCHEMA.safeParse(trigger);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain(path);
  });
});
