import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped. Two equal
 * values always give the same text, so their sha256 can bind an approval or chain an audit record.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'string' && value.length >= LONG_STRING) return longStringJson(value);
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
    return JSON.stringify(value) ?? 'null';
  }
  // Plain loops and one string: this hashes every plan and every audit record.
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index += 1) text += (index === 0 ? '' : ',') + canonicalJson(value[index] ?? null);
    return `${text}]`;
  }
  const object = value as Record<string, unknown>;
  let text = '{';
  // sort() without a comparator orders by UTF-16 code units, as < does.
  for (const key of Object.keys(object).sort()) {
    const member = object[key];
    if (member === undefined) continue;
    text += `${text.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${text}}`;
}

/** Strings this long are the action scripts every plan and approval repeats: escaped once each. */
const LONG_STRING = 1024;
const REMEMBERED_STRINGS = 64;
const escapedLong = new Map<string, string>();

function longStringJson(value: string): string {
  let text = escapedLong.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    // Alert text can be long too, and new with every alert: what is remembered stays bounded.
    if (escapedLong.size >= REMEMBERED_STRINGS) escapedLong.delete(escapedLong.keys().next().value!);
    escapedLong.set(value, text);
  }
  return text;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
