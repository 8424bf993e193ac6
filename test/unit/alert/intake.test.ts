import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/alert/alert.js';
import { parseAlerts, readAlerts } from '../../../src/alert/intake.js';
import { AlertIntakeError } from '../../../src/alert/intake-error.js';
import { SoarError } from '../../../src/errors.js';
import {
  FIXTURE_FILES,
  exampleHit,
  exampleWith,
  expandDotted,
  fixturePath,
  readFixture,
  sourceOf,
  webhookBody,
} from './example.js';

const EXAMPLE_ID = '0f6c1e7a9b3d4c2e8a5f7b1d3e9c0a2b4d6f8e1a3c5b7d9f0e2a4c6b8d0f1e3a';

const EXAMPLE_ALERT: Alert = {
  id: EXAMPLE_ID,
  index: '.internal.alerts-security.alerts-default-000001',
  timestamp: '2024-05-02T10:15:42.118Z',
  rule: {
    ruleId: 'e2258f48-ba75-4248-951b-7c885edf18c2',
    uuid: '5d1c3b0e-0a1b-11ef-9a3e-1d2c3b4a5f60',
    name: 'Suspicious Mining Process Creation Event',
  },
  event: { action: 'creation', type: ['creation'], category: ['file'] },
  host: {
    name: 'web-01',
    hostname: 'web-01',
    id: '9c0b1a2d3e4f5a6b7c8d9e0f1a2b3c4d',
    ip: ['10.0.12.34', 'fe80::5054:ff:fe12:3456'],
    os: { type: 'linux', family: 'ubuntu', name: 'Linux' },
  },
  file: { path: '/tmp/c3pool_miner.service', name: 'c3pool_miner.service' },
  process: {
    pid: 4421,
    entityId: 'M2YyYTljMWUtN2I1ZC00ZThmLWExYzMtNWQ3ZTlmMWIzYTVjLTQ0MjEtMTcxNDY0NDkzMQ==',
    executable: '/usr/bin/bash',
    name: 'bash',
    commandLine: 'bash setup_c3pool_miner.sh 4xxxxWALLETxxxx',
    parent: {
      pid: 4400,
      entityId: 'M2YyYTljMWUtN2I1ZC00ZThmLWExYzMtNWQ3ZTlmMWIzYTVjLTQ0MDAtMTcxNDY0NDkyMA==',
      executable: undefined,
    },
  },
  user: { id: '1000', name: 'ubuntu' },
  source: '_source',
};

function only(input: unknown): Alert {
  const alerts = parseAlerts(input);
  expect(alerts).toHaveLength(1);
  return alerts[0] as Alert;
}

/** The error parseAlerts throws, asserted to be an AlertIntakeError naming `field`. */
function refusedAt(input: unknown, field: string): AlertIntakeError {
  let caught: unknown;
  try {
    parseAlerts(input);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AlertIntakeError);
  const error = caught as AlertIntakeError;
  expect(error.code).toBe('ALERT_INVALID');
  expect(error.field).toBe(field);
  expect(error.message.startsWith(`${field}: `)).toBe(true);
  return error;
}

describe('the shared fixtures', () => {
  it.each(FIXTURE_FILES)('%s parses from its file', async (name) => {
    const [alert, ...others] = await readAlerts(fixturePath(name));
    expect(others).toEqual([]);
    const hit = readFixture(name);
    expect(alert?.id).toBe(hit._id);
    expect(alert?.index).toBe(hit._index);
    expect(alert?.source).toBe('_source');
  });

  it('the example c3pool alert yields the expected Alert', async () => {
    expect(await readAlerts(fixturePath('example-c3pool-miner.hit.json'))).toEqual([EXAMPLE_ALERT]);
  });

  it('the 8.1 alert: host.ip as a string, no file or process', async () => {
    const [alert] = await readAlerts(fixturePath('kibana-8.1-linux-host-other-rule.hit.json'));
    expect(alert).toMatchObject({
      timestamp: '2022-03-19T02:48:12.634Z',
      rule: { ruleId: '53000028-120c-4e55-a8c0-db092e05aef4', name: 'threat-match-rule' },
      host: { name: 'security-linux-1', ip: ['11.200.0.194'], os: { type: 'linux' } },
      file: { path: undefined, name: undefined },
      process: undefined,
      event: { action: undefined, type: [], category: [] },
    });
  });

  it('the 8.5 Windows alert: epoch timestamp, original event preferred over the rewritten one', async () => {
    const [alert] = await readAlerts(fixturePath('kibana-8.5-file-event-windows.hit.json'));
    expect(alert).toMatchObject({
      timestamp: new Date(1666873459714).toISOString(),
      event: { action: 'rename', type: ['change'], category: ['file'] },
      host: { name: 'siem-windows-endpoint', os: { type: 'windows' } },
      user: { id: 'S-1-5-18', name: 'SYSTEM' },
      process: { pid: 1704, parent: { pid: 652 } },
    });
  });
});

describe('intake shapes', () => {
  it('a bare alert document: its index follows from its Kibana space', () => {
    const alert = only(sourceOf(exampleHit()));
    expect(alert).toEqual({ ...EXAMPLE_ALERT, source: '', index: '.alerts-security.alerts-default' });
  });

  it('an Elasticsearch hit', () => {
    expect(only(exampleHit())).toEqual(EXAMPLE_ALERT);
  });

  it('a search response with 3 hits, each with its JSON path', () => {
    const hits = FIXTURE_FILES.map((name) => readFixture(name));
    const alerts = parseAlerts({ took: 3, timed_out: false, hits: { total: { value: 3 }, hits } });
    expect(alerts.map((alert) => [alert.source, alert.id])).toEqual(hits.map((hit, i) => [`hits.hits[${i}]._source`, hit._id]));
    expect(alerts[0]).toEqual({ ...EXAMPLE_ALERT, source: 'hits.hits[0]._source' });
  });

  it('a Kibana webhook body: nested keys and legacy signal.* fields', () => {
    const other = sourceOf(readFixture('kibana-8.1-linux-host-other-rule.hit.json'));
    const body = webhookBody([sourceOf(exampleHit()), other]);
    delete body.rule_id;
    const alerts = parseAlerts(body);
    expect(alerts[0]).toEqual({ ...EXAMPLE_ALERT, source: 'alerts[0]', index: '.alerts-security.alerts-default' });
    expect(alerts[1]).toMatchObject({ source: 'alerts[1]', rule: { name: 'threat-match-rule' } });
  });

  it('a webhook body whose rule_id names the alerts\' rule', () => {
    const body = webhookBody([sourceOf(exampleHit()), sourceOf(exampleHit())]);
    expect(body.rule_id).toBe(EXAMPLE_ALERT.rule.ruleId);
    expect(parseAlerts(body).map((alert) => alert.source)).toEqual(['alerts[0]', 'alerts[1]']);
  });

  it('a webhook alert that carries only the legacy signal.rule.* fields', () => {
    const source = sourceOf(exampleHit());
    const body = webhookBody([source]);
    const alert = (body.alerts as Array<{ kibana: { alert: Record<string, unknown> } }>)[0];
    delete alert?.kibana.alert.rule;
    delete alert?.kibana.alert.original_event;
    expect(only(body)).toMatchObject({
      rule: EXAMPLE_ALERT.rule,
      event: { action: 'creation', type: ['creation'], category: ['file'] },
    });
  });

  it('a webhook alert carrying its own _id and _index', () => {
    const body = webhookBody([sourceOf(exampleHit())]);
    Object.assign((body.alerts as object[])[0] as object, { _id: EXAMPLE_ID, _index: '.internal.alerts-security.alerts-default-000001' });
    expect(only(body)).toEqual({ ...EXAMPLE_ALERT, source: 'alerts[0]' });
  });

  it('every field reads the same flat, nested, or in any mix', () => {
    const nested = expandDotted(sourceOf(exampleHit()));
    const flat = Object.fromEntries(flatten(sourceOf(exampleHit())));
    const { kibana, host, ...rest } = nested as { kibana: { alert: object; space_ids: string[] }; host: object };
    const mixed = {
      ...rest,
      kibana: { space_ids: kibana.space_ids },
      'kibana.alert': kibana.alert,
      'host.os.type': 'linux',
      host: { 'os.family': 'ubuntu', ...host },
    };
    for (const document of [nested, flat, mixed]) {
      expect(only(document)).toEqual({ ...EXAMPLE_ALERT, source: '', index: '.alerts-security.alerts-default' });
    }
  });

  it('string or array: host.ip and event.type', () => {
    const single = only(exampleWith('host.ip', '10.0.12.34'));
    expect(single.host.ip).toEqual(['10.0.12.34']);
    const hit = exampleWith('kibana.alert.original_event.type', 'creation');
    setSourceField(hit, 'kibana.alert.original_event.category', 'file');
    expect(only(hit).event).toEqual({ action: 'creation', type: ['creation'], category: ['file'] });
  });

  it('number or string: user.id, and process.pid as a string of digits', () => {
    expect(only(exampleWith('user.id', 1000)).user.id).toBe('1000');
    expect(only(exampleWith('user.id', '1000')).user.id).toBe('1000');
    expect(only(exampleWith('process.pid', '4421')).process?.pid).toBe(4421);
  });

  it('event.* comes from the original event when the alert has it, else from the copied event.*', () => {
    const hit = exampleWith('kibana.alert.original_event.action', 'file_create_event');
    expect(only(hit).event.action).toBe('file_create_event');
    const source = sourceOf(hit);
    delete source['kibana.alert.original_event.action'];
    source['event.action'] = 'creation';
    expect(only(hit).event.action).toBe('creation');
  });

  it('null counts as absent', () => {
    expect(only(exampleWith('host.hostname', null)).host.hostname).toBeUndefined();
  });

  it('the hit _id alone identifies an alert without kibana.alert.uuid', () => {
    const hit = exampleHit();
    delete sourceOf(hit)['kibana.alert.uuid'];
    expect(only(hit).id).toBe(EXAMPLE_ID);
  });

  it('the rule name alone is enough', () => {
    const hit = exampleHit();
    delete sourceOf(hit)['kibana.alert.rule.rule_id'];
    expect(only(hit).rule).toEqual({ ...EXAMPLE_ALERT.rule, ruleId: undefined });
  });
});

describe('timestamps', () => {
  it.each([
    ['2024-05-02T10:15:42.118Z', '2024-05-02T10:15:42.118Z'],
    [1714644942118, '2024-05-02T10:15:42.118Z'],
    ['2024-05-02T12:15:42.118+02:00', '2024-05-02T10:15:42.118Z'],
    ['2024-05-02T05:15:42.118-0500', '2024-05-02T10:15:42.118Z'],
    ['2024-05-02T10:15:42.118765432Z', '2024-05-02T10:15:42.118Z'],
    ['2024-05-02T10:15Z', '2024-05-02T10:15:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('%s becomes %s', (value, iso) => {
    expect(only(exampleWith('@timestamp', value)).timestamp).toBe(iso);
  });

  it.each<[unknown, string]>([
    ['2024-02-30T00:00:00Z', 'a day February does not have'],
    ['2023-02-29T00:00:00Z', 'not a leap year'],
    ['2024-13-01T00:00:00Z', 'month 13'],
    ['2024-05-02T24:00:00Z', 'hour 24'],
    ['2024-05-02T10:15:42', 'no zone'],
    ['2024-05-02', 'no time'],
    ['yesterday', 'not a date'],
    ['1714644942118', 'epoch as a string'],
    [-1, 'before 1970'],
    [1714644942118.5, 'fractional milliseconds'],
    [9e15, 'beyond what a Date holds'],
    [true, 'a boolean'],
    [{ $date: 1 }, 'an object'],
  ])('%s is refused (%s)', (value) => {
    const error = refusedAt(exampleWith('@timestamp', value), '_source.@timestamp');
    expect(error.message).toContain('ISO-8601');
  });
});

describe('refusals name the JSON path', () => {
  it.each([
    [[], 'an array'],
    ['alert', 'the string'],
    [null, 'null'],
    [42, 'number'],
  ])('input %j is not an object', (input, kind) => {
    expect(refusedAt(input, '$').message).toContain(kind);
  });

  it('an empty alerts array', () => {
    expect(refusedAt({ alerts: [] }, 'alerts').message).toContain('no alerts');
  });

  it('alerts that is not an array', () => {
    refusedAt({ alerts: { 0: {} } }, 'alerts');
  });

  it('a webhook alert that is not an object', () => {
    refusedAt({ alerts: [sourceOf(exampleHit()), 'x'] }, 'alerts[1]');
  });

  it('an empty search response', () => {
    refusedAt({ hits: { total: { value: 0 }, hits: [] } }, 'hits.hits');
  });

  it('a search response hit without _source', () => {
    refusedAt({ hits: { hits: [exampleHit(), { _id: 'x', fields: {} }] } }, 'hits.hits[1]._source');
  });

  it('a hit whose _source is not an object', () => {
    refusedAt({ _id: 'x', _source: 'x' }, '_source');
  });

  it('an input that is two envelopes at once', () => {
    const hit = exampleHit();
    expect(refusedAt({ ...hit, alerts: [] }, '$').message).toContain('both');
  });

  it('a missing alert id', () => {
    const hit = exampleHit();
    delete hit._id;
    delete sourceOf(hit)['kibana.alert.uuid'];
    expect(refusedAt(hit, '_source.kibana.alert.uuid').message).toContain('missing');
  });

  it('an empty alert id', () => {
    const hit = exampleWith('kibana.alert.uuid', '');
    delete hit._id;
    refusedAt(hit, '_source.kibana.alert.uuid');
  });

  it('kibana.alert.uuid and _id that differ', () => {
    const hit = exampleHit();
    hit._id = 'ffff';
    expect(refusedAt(hit, '_source.kibana.alert.uuid').message).toContain('_id is "ffff"');
  });

  it('kibana.alert.uuid and _id that differ, deep in a search response', () => {
    const second = exampleHit();
    second._id = 'ffff';
    refusedAt({ hits: { hits: [exampleHit(), exampleHit(), second] } }, 'hits.hits[2]._source.kibana.alert.uuid');
  });

  it('a missing @timestamp', () => {
    const hit = exampleHit();
    delete sourceOf(hit)['@timestamp'];
    refusedAt(hit, '_source.@timestamp');
  });

  it('a missing rule', () => {
    const hit = exampleHit();
    delete sourceOf(hit)['kibana.alert.rule.rule_id'];
    delete sourceOf(hit)['kibana.alert.rule.name'];
    expect(refusedAt(hit, '_source.kibana.alert.rule.rule_id').message).toContain('kibana.alert.rule.name');
  });

  it('host.name that is an object', () => {
    expect(refusedAt(exampleWith('host.name', { first: 'web-01' }), '_source.host.name').message).toContain('expected a string');
  });

  it('a wrong type deep in a webhook alert', () => {
    const body = webhookBody([sourceOf(exampleHit()), sourceOf(exampleWith('process.pid', [4421]))]);
    refusedAt(body, 'alerts[1].process.pid');
  });

  it('_index that is not a string', () => {
    const hit = exampleHit();
    hit._index = 7;
    refusedAt(hit, '_index');
  });

  it('event.type holding a non-string', () => {
    refusedAt(exampleWith('kibana.alert.original_event.type', ['creation', 1]), '_source.kibana.alert.original_event.type');
  });

  it('a field given twice with different values (flat and nested)', () => {
    const hit = exampleHit();
    sourceOf(hit)['host.name'] = 'db-01';
    expect(refusedAt(hit, '_source.host.name').message).toContain('"host.name" and as "host" → "name"');
  });

  it('a webhook rule_id that is not the alerts\' rule', () => {
    const body = webhookBody([sourceOf(exampleHit()), sourceOf(readFixture('kibana-8.1-linux-host-other-rule.hit.json'))]);
    refusedAt(body, 'alerts[1].kibana.alert.rule.rule_id');
  });
});

describe('readAlerts', () => {
  let directory = '';
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'soar-intake-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('names the line and column of a JSON syntax error', async () => {
    const file = join(directory, 'broken.json');
    await writeFile(file, '{\n  "_id": "x",\n  "_source": {,\n}\n');
    const error = await readAlerts(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AlertIntakeError);
    expect((error as AlertIntakeError).message).toContain(`${file}:3:15: not valid JSON`);
  });

  it('names the end of a truncated file', async () => {
    const file = join(directory, 'truncated.json');
    await writeFile(file, '{\n  "_id": "x"');
    const error = await readAlerts(file).catch((caught: unknown) => caught);
    expect((error as AlertIntakeError).message).toContain(`${file}:2:13: not valid JSON`);
  });

  it('reads a file with a byte-order mark', async () => {
    const file = join(directory, 'bom.json');
    await writeFile(file, `\uFEFF${JSON.stringify(exampleHit())}`);
    expect(await readAlerts(file)).toEqual([EXAMPLE_ALERT]);
  });

  it('a missing file is a SoarError that names it', async () => {
    const file = join(directory, 'absent.json');
    const error = await readAlerts(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SoarError);
    expect((error as SoarError).code).toBe('FILE_UNREADABLE');
    expect((error as SoarError).message).toContain(file);
  });
});

function setSourceField(hit: Record<string, unknown>, key: string, value: unknown): void {
  sourceOf(hit)[key] = value;
}

/** Every leaf of a document as a flat dotted key (arrays stay values). */
function* flatten(document: Record<string, unknown>, prefix = ''): Generator<[string, unknown]> {
  for (const [key, value] of Object.entries(document)) {
    const name = prefix + key;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) yield* flatten(value as Record<string, unknown>, `${name}.`);
    else yield [name, value];
  }
}
