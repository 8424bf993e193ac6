import { describe, expect, it } from 'vitest';
import { fieldSpellings, readField } from '../../../src/alert/fields.js';
import { AlertIntakeError } from '../../../src/alert/intake-error.js';

const RULE_ID = 'e2258f48-ba75-4248-951b-7c885edf18c2';

describe('readField', () => {
  it.each([
    ['a flat dotted key', { 'kibana.alert.rule.rule_id': RULE_ID }],
    ['nested objects', { kibana: { alert: { rule: { rule_id: RULE_ID } } } }],
    ['a flat prefix over nested objects', { 'kibana.alert': { rule: { rule_id: RULE_ID } } }],
    ['nested objects over a flat rest', { kibana: { 'alert.rule.rule_id': RULE_ID } }],
    ['a dotted key in the middle', { kibana: { 'alert.rule': { rule_id: RULE_ID } } }],
    ['the legacy signal.rule.rule_id', { signal: { rule: { rule_id: RULE_ID } } }],
  ])('reads kibana.alert.rule.rule_id from %s', (_how, document) => {
    expect(readField(document, 'kibana.alert.rule.rule_id', 'alerts[0]')?.value).toBe(RULE_ID);
  });

  it('says which name it read the value under', () => {
    expect(readField({ signal: { rule: { id: 'u' } } }, 'kibana.alert.rule.uuid', '')).toEqual({ field: 'signal.rule.id', value: 'u' });
    expect(readField({ 'kibana.alert.rule.uuid': 'v' }, 'kibana.alert.rule.uuid', '')).toEqual({
      field: 'kibana.alert.rule.uuid',
      value: 'v',
    });
  });

  it('reads the legacy name only when the current one is absent', () => {
    const document = { 'kibana.alert.original_event.action': 'creation', signal: { original_event: { action: 'other' } } };
    expect(readField(document, 'kibana.alert.original_event.action', '')?.value).toBe('creation');
  });

  it('finds every spelling, the flattest first', () => {
    const document = { 'host.name': 'a', host: { name: 'a' }, 'host.os': { type: 'linux' } };
    expect(fieldSpellings(document, 'host.name').map((spelling) => spelling.keys)).toEqual([['host.name'], ['host', 'name']]);
    expect(fieldSpellings(document, 'host.os.type').map((spelling) => spelling.keys)).toEqual([['host.os', 'type']]);
  });

  it('accepts the same value spelled twice', () => {
    expect(readField({ 'host.ip': ['10.0.0.1'], host: { ip: ['10.0.0.1'] } }, 'host.ip', '')?.value).toEqual(['10.0.0.1']);
  });

  it('refuses two different values for one field, naming its JSON path and both spellings', () => {
    const read = (): unknown => readField({ 'host.name': 'web-01', host: { name: 'db-01' } }, 'host.name', 'hits.hits[2]._source');
    expect(read).toThrow(AlertIntakeError);
    expect(read).toThrow('hits.hits[2]._source.host.name: the document gives this field twice with different values (as "host.name" and as "host" → "name")');
  });

  it('treats null as absent, and does not walk into arrays or scalars', () => {
    expect(readField({ host: { name: null } }, 'host.name', '')).toBeUndefined();
    expect(readField({ host: [{ name: 'web-01' }] }, 'host.name', '')).toBeUndefined();
    expect(readField({ host: 'web-01' }, 'host.name', '')).toBeUndefined();
  });

  it('reads only the document\'s own keys, never inherited ones', () => {
    expect(readField({}, 'toString', '')).toBeUndefined();
    expect(readField(Object.create({ host: { name: 'web-01' } }) as Record<string, unknown>, 'host.name', '')).toBeUndefined();
    expect(readField({ constructor: { name: 'x' } }, 'constructor.name', '')?.value).toBe('x');
  });
});
