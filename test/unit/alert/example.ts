import { readFileSync } from 'node:fs';
import { fieldSpellings, isJsonObject, type JsonObject } from '../../../src/alert/fields.js';

/** The shared alert fixtures, read where they are (../shared/fixtures/alerts), never copied. */
export const ALERT_FIXTURES = new URL('../../../../shared/fixtures/alerts/', import.meta.url);

export const FIXTURE_FILES = [
  'example-c3pool-miner.hit.json',
  'kibana-8.1-linux-host-other-rule.hit.json',
  'kibana-8.5-file-event-windows.hit.json',
] as const;

export function fixturePath(name: (typeof FIXTURE_FILES)[number]): string {
  return new URL(name, ALERT_FIXTURES).pathname;
}

/** A fresh copy of a fixture (an Elasticsearch hit), safe to change. */
export function readFixture(name: (typeof FIXTURE_FILES)[number]): JsonObject {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as JsonObject;
}

export function exampleHit(): JsonObject {
  return readFixture('example-c3pool-miner.hit.json');
}

export function sourceOf(hit: JsonObject): JsonObject {
  if (!isJsonObject(hit._source)) throw new Error('fixture hit without _source');
  return hit._source;
}

/**
 * Sets a field of an alert document by its dotted name, wherever the document already spells it
 * (flat key or nested objects); a field it lacks is added as nested objects.
 */
export function setField(document: JsonObject, field: string, value: unknown): JsonObject {
  const spellings = fieldSpellings(document, field);
  const paths = spellings.length > 0 ? spellings.map((spelling) => spelling.keys) : [field.split('.')];
  for (const keys of paths) {
    let node = document;
    for (const key of keys.slice(0, -1)) {
      if (!isJsonObject(node[key])) node[key] = {};
      node = node[key] as JsonObject;
    }
    node[keys.at(-1) as string] = value;
  }
  return document;
}

/** The example hit with one `_source` field set to `value`. */
export function exampleWith(field: string, value: unknown): JsonObject {
  const hit = exampleHit();
  setField(sourceOf(hit), field, value);
  return hit;
}

/** Kibana's expandDottedObject, as the webhook connector's `context.alerts` does it. */
export function expandDotted(document: JsonObject): JsonObject {
  const expanded: JsonObject = {};
  for (const [key, value] of Object.entries(document)) {
    const inner = isJsonObject(value) ? expandDotted(value) : value;
    setNested(expanded, key.split('.'), inner);
  }
  return expanded;
}

function setNested(target: JsonObject, keys: string[], value: unknown): void {
  const [first, ...rest] = keys;
  if (first === undefined) return;
  if (rest.length === 0) {
    target[first] = isJsonObject(value) && isJsonObject(target[first]) ? { ...target[first], ...value } : value;
    return;
  }
  if (!isJsonObject(target[first])) target[first] = {};
  setNested(target[first] as JsonObject, rest, value);
}

/**
 * A webhook body built the way Kibana builds `context.alerts`: each alert's dotted keys expanded
 * into nested objects, plus the legacy `signal.*` fields.
 */
export function webhookBody(sources: JsonObject[]): JsonObject {
  const alerts = sources.map((source) => {
    const legacy = expandDotted({
      'signal.rule.rule_id': source['kibana.alert.rule.rule_id'],
      'signal.rule.id': source['kibana.alert.rule.uuid'],
      'signal.rule.name': source['kibana.alert.rule.name'],
      'signal.original_event.action': source['kibana.alert.original_event.action'],
      'signal.original_time': source['kibana.alert.original_time'],
      'signal.status': source['kibana.alert.workflow_status'],
    });
    return { ...legacy, ...expandDotted(source) };
  });
  const first = sources[0];
  return JSON.parse(JSON.stringify({ alerts, rule_id: first?.['kibana.alert.rule.rule_id'] })) as JsonObject;
}
