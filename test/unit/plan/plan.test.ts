import { describe, expect, it } from 'vitest';
import type { PlannedCommand } from '../../../src/actions/action.js';
import { ACTIONS } from '../../../src/actions/registry.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { DEFAULT_PLAYBOOK } from '../../../src/cli/defaults.js';
import { commandLine } from '../../../src/command/quote.js';
import { defaultConfig, type Config } from '../../../src/config/config.js';
import { SoarError } from '../../../src/errors.js';
import { AlertNotTakenError, buildPlan, type Plan } from '../../../src/plan/plan.js';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { exampleHit, exampleWith, readFixture } from '../alert/example.js';
import { HOSTILE_VALUES } from '../alert/hostile-values.js';

const playbook = await loadPlaybook(DEFAULT_PLAYBOOK, ACTIONS);

function config(): Config {
  const base = defaultConfig();
  return {
    ...base,
    hosts: { 'web-01': { address: '198.18.0.2', port: 22, user: 'responder', max_sessions: 4, connect_timeout: 10_000 } },
    isolation: { management: ['198.18.0.1'], allow_out: [{ address: '198.18.200.10', port: 9200, protocol: 'tcp' }], revert_after: 60_000 },
  };
}

function plan(hit: unknown): Plan {
  const [alert] = parseAlerts(hit);
  return buildPlan({ alert: alert!, playbook, config: config(), actions: ACTIONS });
}

/** Every string that any planned command would send or that a step would request. */
function everythingSent(commands: PlannedCommand[]): string[] {
  return commands.flatMap((planned) =>
    planned.where === 'host' || planned.where === 'local'
      ? [...planned.command.argv, commandLine(planned.command.argv), planned.command.stdin ?? '']
      : planned.where === 'http'
        ? [planned.request.url]
        : [],
  );
}

describe('plan of the example c3pool alert', () => {
  const result = plan(exampleHit());

  it('has the six steps of the playbook, in order, with their gates', () => {
    expect(result.steps.map((step) => [step.id, step.action, step.approval?.count ?? 0])).toEqual([
      ['triage', 'triage', 0],
      ['isolate', 'isolate', 1],
      ['kill', 'kill-process', 1],
      ['remove', 'remove-unit', 1],
      ['scan', 'scan', 0],
      ['escalate', 'escalate', 0],
    ]);
    expect(result.steps.find((step) => step.id === 'triage')!.next.false_positive).toBe('escalate');
  });

  it('passes alert values only as whole arguments after a constant script', () => {
    const triage = result.steps[0]!.commands[0]!;
    expect(triage.where).toBe('host');
    if (triage.where !== 'host') return;
    const [sh, flag, script, name, ...args] = triage.command.argv;
    expect([sh, flag, name]).toEqual(['sh', '-c', 'soar-triage']);
    expect(args).toEqual(['c3pool_miner.service', '/tmp/c3pool_miner.service', '4421']);
    expect(script).not.toContain('c3pool_miner');
    for (const step of result.steps) {
      for (const planned of step.commands) {
        if (planned.where === 'host' && planned.command.argv[0] === 'sh') {
          expect(planned.command.argv[2]).not.toMatch(/web-01|c3pool_miner|4421|\/tmp\/c3pool/);
        }
      }
    }
  });

  it('puts the config into isolation and quarantine arguments', () => {
    const isolate = result.steps[1]!.commands[0]!;
    expect(isolate.where === 'host' && isolate.command.argv.slice(4)).toEqual([
      result.runId,
      '60',
      'mgmt=198.18.0.1',
      'allow=tcp,198.18.200.10,9200',
    ]);
    const remove = result.steps[3]!.commands[0]!;
    expect(remove.where === 'host' && remove.command.argv).toContain(`/var/lib/soar/quarantine/${result.runId}`);
    expect(result.host).toEqual({ address: '198.18.0.2', port: 22, user: 'responder', jump: undefined });
  });

  it('is deterministic, and any change to a step changes its hash and the plan hash', () => {
    const again = plan(exampleHit());
    expect(again.hash).toBe(result.hash);
    expect(again.steps.map((step) => step.hash)).toEqual(result.steps.map((step) => step.hash));
    const otherPath = plan(exampleWith('file.path', '/etc/systemd/system/c3pool_miner.service'));
    expect(otherPath.hash).not.toBe(result.hash);
    expect(otherPath.steps[0]!.hash).not.toBe(result.steps[0]!.hash);
    expect(otherPath.steps[1]!.hash).toBe(result.steps[1]!.hash);
  });
});

describe('alerts the playbook does not take', () => {
  it('refuses the other rule with the reason', () => {
    const error = (() => {
      try {
        return plan(readFixture('kibana-8.1-linux-host-other-rule.hit.json'));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(AlertNotTakenError);
    expect((error as AlertNotTakenError).reasons.join('\n')).toMatch(/rule_id "[^"]+" \(rule "threat-match-rule"\) is not one this playbook takes/);
  });

  it('refuses the Windows host with the reasons', () => {
    expect(() => plan(readFixture('kibana-8.5-file-event-windows.hit.json'))).toThrow(/host\.os\.type "windows" is not linux/);
  });
});

describe('hostile alert values never reach a planned command', () => {
  it.each(HOSTILE_VALUES.map((entry) => [entry.field, entry.why, entry] as const))('%s: %s', (_field, _why, { field, value }) => {
    let planned: Plan | undefined;
    let refusal: unknown;
    try {
      planned = plan(exampleWith(field, value));
    } catch (error) {
      refusal = error;
    }
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const sent = planned ? planned.steps.flatMap((step) => everythingSent(step.commands)) : [];
    expect(sent.filter((item) => item.includes(text))).toEqual([]);
    expect(refusal).toBeInstanceOf(SoarError);
  });
});
