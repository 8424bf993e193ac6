import { beforeAll, describe, expect, test } from 'vitest';
import { loadPlaybook, parsePlaybook, type Playbook } from '../../../src/playbook/load.js';
import { renderMermaid } from '../../../src/playbook/render.js';
import { PLAYBOOK_JSON_SCHEMA } from '../../../src/playbook/schema.js';
import { TEST_ACTIONS } from './actions.js';

let playbook: Playbook;
beforeAll(async () => {
  playbook = await loadPlaybook('test/unit/playbook/fixtures/valid.yaml', TEST_ACTIONS);
});

describe('renderMermaid', () => {
  test('draws every step, every approval gate and every edge with its reasons', () => {
    const lines = renderMermaid(playbook).split('\n');
    expect(lines[0]).toBe('stateDiagram-v2');
    for (const expected of [
      '  state "triage" as step_triage',
      '  step_triage : action triage, timeout 2m, retries 2, backoff 5s x3',
      '  state "kill-process" as step_kill_process',
      '  gate_isolate : 2 of responder or lead, expires in 4h',
      '  gate_kill_process : 1 of any approver, expires in 1d',
      '  [*] --> step_triage',
      // Entering a gated step enters its gate; the gate opens onto the step.
      '  step_triage --> gate_isolate : malicious, default',
      '  step_triage --> step_escalate : false_positive, failure',
      '  gate_isolate --> step_isolate : approved',
      '  gate_isolate --> step_escalate : denied, expired',
      '  step_isolate --> gate_kill_process : isolated, default',
      '  step_kill_process --> step_scan : killed, none_found, default, failure',
      '  step_scan --> step_escalate : clean, findings, default',
      '  step_scan --> run_aborted : failure',
      '  step_escalate --> [*] : sent, default',
      '  step_escalate --> run_failed : failure',
    ]) {
      expect(lines).toContain(expected);
    }
    // Every state drawn is declared, and no id carries a character Mermaid would misread.
    const ids = new Set(lines.flatMap((line) => /^ {2}state "[^"]*" as (\S+)$/.exec(line)?.slice(1) ?? []));
    for (const line of lines.filter((candidate) => candidate.includes('-->'))) {
      const [, from, to] = /^ {2}(\S+) --> (\S+)/.exec(line)!;
      for (const id of [from!, to!].filter((node) => node !== '[*]')) {
        expect(ids.has(id), `${id} in ${line}`).toBe(true);
        expect(id).toMatch(/^[a-z][a-z0-9_]*$/);
      }
    }
  });

  test('free text cannot break the diagram', () => {
    const hostile = parsePlaybook(
      ['playbook: odd', 'title: "x\\n  [*] --> evil : \\"quoted\\""', 'trigger: { rule_ids: [r] }', 'escalation: notify',
        'steps:', '  - id: gate', '    action: isolate', '    approval: { count: 1, roles: ["a\\"b : c"] }',
        '  - id: notify', '    action: notify', '    with: { channel: soc }'].join('\n'),
      'odd.yaml',
      TEST_ACTIONS,
    );
    const text = renderMermaid(hostile);
    expect(text.split('\n').filter((line) => line.includes('evil'))).toEqual(['  %% odd: x -- evil quoted']);
    expect(text).toContain('  gate_gate : 1 of a b c, expires in 1d');
  });
});

describe('PLAYBOOK_JSON_SCHEMA', () => {
  const schema = PLAYBOOK_JSON_SCHEMA(TEST_ACTIONS) as {
    properties: { steps: { items: { oneOf: { properties: Record<string, any>; required: string[] }[] } } };
  };
  const variant = (action: string) => schema.properties.steps.items.oneOf.find((step) => step.properties.action.const === action)!;

  test('types each step\'s `with` and `next` by the action it names', () => {
    expect(schema.properties.steps.items.oneOf.map((step) => step.properties.action.const).sort()).toEqual(['isolate', 'kill', 'notify', 'scan', 'triage']);
    expect(variant('kill').properties.with).toMatchObject({ properties: { signal: { enum: ['TERM', 'KILL'] } }, additionalProperties: false });
    expect(variant('kill').properties.next.anyOf[1].propertyNames.enum).toEqual(['killed', 'none_found', 'default', 'failed']);
    // A required param makes `with` itself required.
    expect(variant('notify').required).toContain('with');
    expect(variant('kill').required).not.toContain('with');
  });

  test('describes the file as written: durations are strings, unknown keys are refused', () => {
    const kill = variant('kill').properties;
    expect(kill.timeout).toMatchObject({ type: 'string', default: '5m' });
    expect(kill.approval.anyOf[0]).toEqual({ type: 'string', enum: ['none', 'required'] });
    expect(variant('kill')).toMatchObject({ additionalProperties: false });
    expect(schema).toMatchObject({ additionalProperties: false, required: expect.arrayContaining(['playbook', 'title', 'trigger', 'steps']) });
  });
});
