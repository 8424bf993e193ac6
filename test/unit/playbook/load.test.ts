import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { ACTIONS } from '../../../src/actions/registry.js';
import { isSoarError } from '../../../src/errors.js';
import { loadPlaybook, parsePlaybook } from '../../../src/playbook/load.js';
import { YamlFileError } from '../../../src/yaml/located.js';
import { TEST_ACTIONS } from './actions.js';

const FIXTURES = 'test/unit/playbook/fixtures';

describe('loading a valid playbook', () => {
  test('resolves defaults, approvals, params and every route', async () => {
    const playbook = await loadPlaybook(`${FIXTURES}/valid.yaml`, TEST_ACTIONS);
    const defaults = { timeoutMs: 300_000, retries: { max: 0, backoffMs: 5_000, factor: 2 }, approval: undefined };
    expect(playbook).toEqual({
      id: 'mining-test',
      title: 'Cryptominer unit (test playbook)',
      description: 'Uses every part of the format.',
      trigger: { rule_ids: ['e2258f48-ba75-4248-951b-7c885edf18c2'], rule_names: [], file_names: [], os: ['linux'] },
      escalation: 'escalate',
      file: `${FIXTURES}/valid.yaml`,
      steps: [
        {
          id: 'triage',
          action: 'triage',
          with: { allowlist: true },
          timeoutMs: 120_000,
          retries: { max: 2, backoffMs: 5_000, factor: 3 },
          onFailure: 'escalate',
          approval: undefined,
          // Unlisted outcomes fall through to the next step in the list.
          next: { malicious: 'isolate', false_positive: 'escalate', default: 'isolate' },
        },
        {
          ...defaults,
          id: 'isolate',
          action: 'isolate',
          with: { mode: 'egress' },
          onFailure: 'escalate',
          approval: { count: 2, roles: ['responder', 'lead'], expiresMs: 4 * 3_600_000 },
          next: { isolated: 'kill-process', default: 'kill-process' },
        },
        {
          ...defaults,
          id: 'kill-process',
          action: 'kill',
          with: { signal: 'KILL' },
          onFailure: 'continue',
          // `approval: required` is one approver of any role for a day.
          approval: { count: 1, roles: [], expiresMs: 24 * 3_600_000 },
          next: { killed: 'scan', none_found: 'scan', default: 'scan', failed: 'scan' },
        },
        { ...defaults, id: 'scan', action: 'scan', with: {}, onFailure: 'abort', next: { clean: 'escalate', findings: 'escalate', default: 'escalate' } },
        {
          ...defaults,
          id: 'escalate',
          action: 'notify',
          with: { channel: 'soc' },
          retries: { max: 1, backoffMs: 1_000, factor: 2 },
          // The escalation step's failure ends the run as failed; it never escalates to itself.
          onFailure: 'abort',
          next: { sent: 'end', default: 'end' },
        },
      ],
    });
  });

  test('a playbook whose steps never escalate needs no escalation step', async () => {
    const playbook = await loadPlaybook(`${FIXTURES}/minimal.yaml`, TEST_ACTIONS);
    expect(playbook.escalation).toBeUndefined();
    expect(playbook.steps.map((step) => [step.id, step.next])).toEqual([['report', { sent: 'end', default: 'end' }]]);
  });

  test('the bundled mining-service playbook loads against the real actions', async () => {
    const playbook = await loadPlaybook('playbooks/mining-service.yaml', ACTIONS);
    expect(playbook.id).toBe('mining-service');
    expect(playbook.escalation).toBeDefined();
    // Every step that changes the host waits for an analyst.
    for (const step of playbook.steps) {
      if (ACTIONS.get(step.action)!.destructive) expect(step.approval, step.id).toBeDefined();
    }
  });
});

/** Each broken playbook gives exactly one error, at the place a user must fix. */
const BROKEN: [file: string, code: string, line: number, column: number, path: string, says: string][] = [
  ['yaml-syntax', 'YAML_SYNTAX', 8, 5, 'Flow map', 'must be sufficiently indented and end with a }'],
  ['unknown-key', 'PLAYBOOK_INVALID', 9, 5, 'steps[0].retires', 'unknown key'],
  ['unknown-action', 'PLAYBOOK_UNKNOWN_ACTION', 7, 13, 'steps[0].action', 'unknown action "isolat"; known actions: isolate, kill, notify, scan, triage'],
  ['unknown-next-step', 'PLAYBOOK_UNKNOWN_STEP', 9, 23, 'steps[0].next.false_positive', 'no step "escalte"; expected end or one of: triage, escalate'],
  ['bad-params', 'PLAYBOOK_INVALID_PARAMS', 9, 15, 'steps[0].with.signal', 'expected one of "TERM"|"KILL"'],
  ['unknown-param', 'PLAYBOOK_INVALID_PARAMS', 8, 25, 'steps[0].with.keep_ssh', 'unknown key'],
  ['missing-param', 'PLAYBOOK_INVALID_PARAMS', 7, 11, 'steps[0].with.channel', 'required (string); add it'],
  ['unknown-outcome', 'PLAYBOOK_UNKNOWN_OUTCOME', 8, 13, 'steps[0].next.malicous', 'expected one of: malicious, false_positive, default'],
  ['failed-without-continue', 'PLAYBOOK_UNKNOWN_OUTCOME', 9, 13, 'steps[0].next.failed', 'only with on_failure: continue'],
  ['duplicate-step', 'PLAYBOOK_DUPLICATE_STEP', 8, 9, 'steps[1].id', 'step id "scan" is already used by steps[0]'],
  ['escalation-unknown', 'PLAYBOOK_UNKNOWN_STEP', 4, 13, 'escalation', 'no step "escalte"'],
  ['escalation-missing', 'PLAYBOOK_ESCALATION_MISSING', 10, 15, 'steps[1].approval', 'names no escalation step'],
  ['escalation-missing-default', 'PLAYBOOK_ESCALATION_MISSING', 5, 5, 'steps[0].on_failure', '(on_failure defaults to escalate)'],
  ['escalation-loop', 'PLAYBOOK_ESCALATION_LOOP', 11, 17, 'steps[1].on_failure', 'cannot use on_failure: escalate'],
  ['escalation-approval', 'PLAYBOOK_ESCALATION_LOOP', 11, 15, 'steps[1].approval', 'a denial would escalate to itself'],
  ['unreachable', 'PLAYBOOK_UNREACHABLE_STEP', 9, 9, 'steps[1].id', 'no step leads to "kill"'],
  ['loop', 'PLAYBOOK_LOOP', 10, 23, 'steps[1].next.findings', 'step "scan" leads back to step "triage"'],
  ['bad-duration', 'PLAYBOOK_INVALID', 8, 14, 'steps[0].timeout', '"2 minutes" is not a duration'],
  ['reserved-id', 'PLAYBOOK_INVALID', 5, 9, 'steps[0].id', 'is reserved'],
  ['bad-approval', 'PLAYBOOK_INVALID', 8, 15, 'steps[0].approval', 'expected none, required, or {count, roles, expires}'],
  ['trigger-no-rules', 'PLAYBOOK_INVALID', 3, 10, 'trigger.rule_ids', 'give rule_ids or rule_names'],
];

describe('a broken playbook gives one located error', () => {
  test.each(BROKEN)('%s → %s at %i:%i', async (name, code, line, column, path, says) => {
    const file = `${FIXTURES}/broken/${name}.yaml`;
    const error = await loadPlaybook(file, TEST_ACTIONS).then(
      () => expect.unreachable(`${name} loaded`),
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(YamlFileError);
    const { code: actual, location, message } = error as YamlFileError;
    expect({ code: actual, location }).toEqual({ code, location: { file, line, column } });
    expect(message.startsWith(`${file}:${line}:${column}: ${path}`)).toBe(true);
    expect(message).toContain(says);
  });

  test('parsePlaybook names the file it was given in its errors', () => {
    expect(() => parsePlaybook('playbook: Bad Id\n', 'inline.yaml', TEST_ACTIONS)).toThrow(/^inline\.yaml:1:11: playbook: a playbook id/);
  });

  test('an empty file is one error at its start', () => {
    expect(() => parsePlaybook('', 'empty.yaml', TEST_ACTIONS)).toThrow(/^empty\.yaml:1:1: \(document\): Invalid input: expected object/);
  });

  test('a missing file says which file could not be read', async () => {
    await expect(loadPlaybook(`${FIXTURES}/absent.yaml`, TEST_ACTIONS)).rejects.toMatchObject({ code: 'FILE_UNREADABLE' });
  });

  test('any value anywhere in a playbook gives a playbook or one located error, never a crash', async () => {
    const valid = parse(await readFile(`${FIXTURES}/valid.yaml`, 'utf8')) as Record<string, unknown>;
    const paths = ['playbook', 'escalation', 'trigger', 'steps', 'steps.0', 'steps.0.next', 'steps.0.retries', 'steps.1.approval',
      'steps.1.approval.count', 'steps.2.next', 'steps.2.with', 'steps.3.on_failure', 'steps.4.id', 'steps.4.timeout'];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 2 }), (path, value) => {
        const document = structuredClone(valid);
        const keys = path.split('.');
        const parent = keys.slice(0, -1).reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, document);
        parent[keys.at(-1)!] = value;
        try {
          parsePlaybook(stringify(document), 'fuzz.yaml', TEST_ACTIONS);
        } catch (error) {
          expect(error).toBeInstanceOf(YamlFileError);
          expect(isSoarError(error) && /^fuzz\.yaml:\d+:\d+: /.test(error.message)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
