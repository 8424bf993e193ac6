import { readField, jsonPath, type FieldValue, type JsonObject } from './fields.js';
import { AlertIntakeError } from './intake-error.js';
import { renderValue } from './render.js';
import { normaliseTimestamp } from './timestamp.js';

/**
 * Typed reads of one alert document. Each returns `undefined` when the field is absent and
 * refuses a value of the wrong JSON type, naming its full JSON path. Values are typed, not trusted.
 */
export interface FieldReader {
  /** A string. */
  text(field: string): string | undefined;
  /** A string or a number (`user.id`), as a string. */
  textOrNumber(field: string): string | undefined;
  /** A string or an array of strings (`host.ip`, `event.type`), as an array. */
  textList(field: string): string[] | undefined;
  /** A number, or a string of decimal digits (`process.pid`). */
  number(field: string): number | undefined;
  /** ISO-8601 text or epoch milliseconds, as an ISO string in UTC. */
  timestamp(field: string): string | undefined;
}

const DECIMAL = /^-?\d{1,16}$/;

export function fieldReader(document: JsonObject, source: string): FieldReader {
  const refuse = (found: FieldValue, expected: string): never => {
    throw new AlertIntakeError(
      jsonPath(source, found.field),
      `expected ${expected}, got ${describe(found.value)}; fix the alert document or the connector that sends it`,
    );
  };
  const read = <T>(field: string, convert: (found: FieldValue) => T): T | undefined => {
    const found = readField(document, field, source);
    return found === undefined ? undefined : convert(found);
  };
  return {
    text: (field) =>
      read(field, (found) => (typeof found.value === 'string' ? found.value : refuse(found, 'a string'))),
    textOrNumber: (field) =>
      read(field, (found) =>
        typeof found.value === 'string' || (typeof found.value === 'number' && Number.isFinite(found.value))
          ? String(found.value)
          : refuse(found, 'a string or a number'),
      ),
    textList: (field) =>
      read(field, (found) => {
        if (typeof found.value === 'string') return [found.value];
        if (Array.isArray(found.value) && found.value.every((item) => typeof item === 'string')) return found.value;
        return refuse(found, 'a string or an array of strings');
      }),
    number: (field) =>
      read(field, (found) => {
        if (typeof found.value === 'number') return found.value;
        if (typeof found.value === 'string' && DECIMAL.test(found.value)) return Number(found.value);
        return refuse(found, 'a number (or a string of decimal digits)');
      }),
    timestamp: (field) =>
      read(field, (found) => {
        const { value } = found;
        const iso = typeof value === 'string' || typeof value === 'number' ? normaliseTimestamp(value) : undefined;
        return iso ?? refuse(found, 'an ISO-8601 date-time with a zone (2024-05-02T10:15:42Z) or epoch milliseconds');
      }),
  };
}

/** What a JSON value is, for a message: its type and (cut, escaped) text. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array ${renderValue(value, 60)}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object ${renderValue(value, 60)}`;
  if (typeof value === 'string') return `the string ${renderValue(value, 60)}`;
  return `${typeof value} ${renderValue(value, 60)}`;
}
