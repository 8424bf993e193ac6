import { createHash, createHmac } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped. Two equal
 * values always give the same text, so their sha256 can bind an approval or chain an audit record.
 */
export function canonicalJson(value: unknown): string {
  let text = '';
  writeCanonical(value, (part) => {
    text += part;
  });
  return text;
}

/**
 * The value canonicalJson's text parses back to (undefined members dropped, undefined and
 * functions in arrays as null, -0 as 0), without writing the text: its strings are the value's
 * own, so a script in an audit record is neither escaped, copied nor parsed again.
 */
export function canonicalValue(value: unknown): unknown {
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
    return value === 0 ? 0 : value;
  }
  if (typeof value !== 'object') return JSON.parse(JSON.stringify(value) ?? 'null') as unknown;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    for (let index = 0; index < value.length; index += 1) copy.push(canonicalValue(value[index] ?? null));
    return copy;
  }
  const object = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(object).sort()) {
    const member = object[key];
    if (member === undefined) continue;
    // JSON.parse makes "__proto__" an own member; an assignment would set the prototype.
    Object.defineProperty(copy, key, { value: canonicalValue(member), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/**
 * sha256 of canonicalJson(value), or its HMAC-SHA256 under `key`, without building the text: the
 * long strings (the action scripts in every plan and approval request) go in as UTF-8 kept from
 * earlier, so they are neither copied into one string nor encoded again.
 */
export function canonicalDigest(value: unknown, key?: Buffer): string {
  const digest = key ? createHmac('sha256', key) : createHash('sha256');
  let pending = '';
  writeCanonical(value, (part, long) => {
    if (!long) {
      pending += part;
      return;
    }
    if (pending !== '') digest.update(pending);
    pending = '';
    digest.update(long.utf8 ??= Buffer.from(part));
  });
  return digest.update(pending).digest('hex');
}

/**
 * sha256 of the canonical text of `value` in which each long string (the action scripts) is
 * written as `#` and the sha256 of its JSON text. It binds as tightly as canonicalDigest (a
 * string's sha256 stands for the string, and `#` occurs in canonical JSON only inside strings),
 * but hashes each script once per process instead of once per plan: the step and plan hashes.
 */
export function compactDigest(value: unknown): string {
  const digest = createHash('sha256');
  let pending = '';
  writeCanonical(value, (part, long) => {
    pending += long ? `#${(long.sha256 ??= sha256Hex((long.utf8 ??= Buffer.from(part))))}` : part;
  });
  return digest.update(pending).digest('hex');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A long string's JSON text, with its UTF-8 and the text's sha256 once a digest has asked for them. */
interface LongJson {
  text: string;
  utf8?: Buffer;
  sha256?: string;
}

/** Strings this long are the action scripts every plan and approval repeats: escaped once each. */
const LONG_STRING = 1024;
const REMEMBERED_STRINGS = 64;
const rememberedLong = new Map<string, LongJson>();

function longJson(value: string): LongJson {
  let json = rememberedLong.get(value);
  if (json === undefined) {
    json = { text: JSON.stringify(value) };
    // Alert text can be long too, and new with every alert: what is remembered stays bounded.
    if (rememberedLong.size >= REMEMBERED_STRINGS) rememberedLong.delete(rememberedLong.keys().next().value!);
    rememberedLong.set(value, json);
  }
  return json;
}

/** Hands the canonical text of `value` to `emit` in order, in parts; a long string's part comes with its LongJson. */
function writeCanonical(value: unknown, emit: (part: string, long?: LongJson) => void): void {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'string' && value.length >= LONG_STRING) {
      const long = longJson(value);
      emit(long.text, long);
      return;
    }
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
    emit(JSON.stringify(value) ?? 'null');
    return;
  }
  // Plain loops: this hashes every plan and every audit record.
  if (Array.isArray(value)) {
    emit('[');
    for (let index = 0; index < value.length; index += 1) {
      if (index > 0) emit(',');
      writeCanonical(value[index] ?? null, emit);
    }
    emit(']');
    return;
  }
  const object = value as Record<string, unknown>;
  let first = true;
  emit('{');
  // sort() without a comparator orders by UTF-16 code units, as < does.
  for (const key of Object.keys(object).sort()) {
    const member = object[key];
    if (member === undefined) continue;
    emit(`${first ? '' : ','}${JSON.stringify(key)}:`);
    first = false;
    writeCanonical(member, emit);
  }
  emit('}');
}
