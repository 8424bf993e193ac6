import { isDeepStrictEqual } from 'node:util';
import { AlertIntakeError } from './intake-error.js';

/**
 * Reads a field of an alert document by its dotted ECS name, however the document spells it.
 * Kibana writes `kibana.*` and copied `event.*` as flat dotted keys and keeps ECS source fields
 * nested; webhook bodies expand everything; any mix (`{"kibana.alert": {"rule": {…}}}`) reads the same.
 */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON path of `field` inside the document found at `source` (`''` for the input itself). */
export function jsonPath(source: string, field: string): string {
  return source === '' ? field : `${source}.${field}`;
}

/** One way a document spells a field: the keys walked from the document to the value. */
export interface FieldSpelling {
  keys: string[];
  value: unknown;
}

/** Every spelling of `field` in the document, the flattest first. */
export function fieldSpellings(document: JsonObject, field: string): FieldSpelling[] {
  const found: FieldSpelling[] = [];
  for (const [key, rest] of splitsOf(field)) {
    if (!Object.hasOwn(document, key)) continue;
    const value = document[key];
    if (rest === undefined) {
      found.push({ keys: [key], value });
    } else if (isJsonObject(value)) {
      for (const inner of fieldSpellings(value, rest)) found.push({ keys: [key, ...inner.keys], value: inner.value });
    }
  }
  return found;
}

/** The field names soar reads (its own and the playbooks'): few, and each read for every alert. */
const splits = new Map<string, Array<[key: string, rest: string | undefined]>>();

/** The ways to split a dotted name into a key and the rest of the name under it, the longest key first. */
function splitsOf(field: string): Array<[key: string, rest: string | undefined]> {
  let found = splits.get(field);
  if (found === undefined) {
    const segments = field.split('.');
    found = segments.map((_, index): [string, string | undefined] => {
      const taken = segments.length - index;
      return [segments.slice(0, taken).join('.'), taken === segments.length ? undefined : segments.slice(taken).join('.')];
    });
    splits.set(field, found);
  }
  return found;
}

/**
 * Webhook bodies also carry the pre-8.0 `signal.*` names (Kibana's legacy alert context); they
 * stand in for the `kibana.alert.*` field only when that is absent.
 */
const LEGACY_NAMES: ReadonlyArray<readonly [current: string, legacy: string]> = [
  ['kibana.alert.rule.uuid', 'signal.rule.id'],
  ['kibana.alert.rule.', 'signal.rule.'],
  ['kibana.alert.original_event.', 'signal.original_event.'],
  ['kibana.alert.original_time', 'signal.original_time'],
];

function legacyName(field: string): string | undefined {
  for (const [current, legacy] of LEGACY_NAMES) {
    if (field === current) return legacy;
    if (current.endsWith('.') && field.startsWith(current)) return legacy + field.slice(current.length);
  }
  return undefined;
}

/** A value found in a document, with the dotted name it was found under. */
export interface FieldValue {
  field: string;
  value: unknown;
}

/**
 * The value of `field` (or its legacy name), `undefined` when absent or null. A document that
 * spells the same field twice with different values is refused: which one counts would be a guess.
 */
export function readField(document: JsonObject, field: string, source: string): FieldValue | undefined {
  for (const name of [field, legacyName(field)]) {
    if (name === undefined) continue;
    const [first, ...others] = fieldSpellings(document, name).filter((spelling) => spelling.value != null);
    if (first === undefined) continue;
    const other = others.find((spelling) => !isDeepStrictEqual(spelling.value, first.value));
    if (other !== undefined) {
      throw new AlertIntakeError(
        jsonPath(source, name),
        `the document gives this field twice with different values (as ${spelled(first)} and as ${spelled(other)}); ` +
          'an ambiguous alert is refused, send a document that gives it once',
      );
    }
    return { field: name, value: first.value };
  }
  return undefined;
}

function spelled(spelling: FieldSpelling): string {
  return spelling.keys.map((key) => JSON.stringify(key)).join(' → ');
}
