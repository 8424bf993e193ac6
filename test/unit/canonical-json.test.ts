import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { canonicalDigest, canonicalJson, canonicalValue, compactDigest, sha256Hex } from '../../src/canonical-json.js';

/**
 * The first implementation, kept as the oracle: trails written by it must still verify, so the
 * text may never change. With `long`, each string of 1 KB or more is written as `long` gives it
 * (compactDigest's text).
 */
const reference = (value: unknown, long?: (text: string) => string): string => {
  if (long && typeof value === 'string' && value.length >= 1024) return long(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => reference(item ?? null, long)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${reference(member, long)}`).join(',')}}`;
};

/** The same value with every object's keys inserted in reverse order. */
const reversedKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).reverse().map((key) => [key, reversedKeys((value as Record<string, unknown>)[key])]));
  }
  return value;
};

describe('canonicalJson', () => {
  it('sorts keys by code unit at every depth, without whitespace, dropping undefined members', () => {
    expect(canonicalJson({ b: 1, a: [{ z: true, y: null, x: undefined }], é: 'x', Z: 2, _: [undefined] })).toBe('{"Z":2,"_":[null],"a":[{"y":null,"z":true}],"b":1,"é":"x"}');
  });

  it("gives the first implementation's text, whatever the key order, and the text parses back to the value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(text).toBe(reference(value));
        expect(canonicalJson(reversedKeys(value))).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500, seed: 11 },
    );
  });

  it('gives the same text for long strings (scripts, escaped once and remembered), also after many others pushed them out', () => {
    const longString = fc.string({ unit: 'binary', minLength: 1024, maxLength: 3000 });
    fc.assert(
      fc.property(fc.array(longString, { minLength: 1, maxLength: 100 }), (strings) => {
        for (const text of [...strings, ...strings]) expect(canonicalJson({ argv: ['sh', '-c', text] })).toBe(reference({ argv: ['sh', '-c', text] }));
      }),
      { numRuns: 20, seed: 12 },
    );
  });

  it('digests exactly the canonical text, with and without an HMAC key, long strings included', () => {
    const key = Buffer.from('an audit key kept outside the store');
    const value = fc.oneof(fc.jsonValue(), fc.array(fc.string({ unit: 'binary', minLength: 1024, maxLength: 2048 }), { maxLength: 3 }));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 4 }), (values) => {
        const text = canonicalJson(values);
        expect(canonicalDigest(values)).toBe(sha256Hex(text));
        expect(canonicalDigest(values)).toBe(canonicalDigest(values));
        expect(canonicalDigest(values, key)).toBe(createHmac('sha256', key).update(text).digest('hex'));
      }),
      { numRuns: 200, seed: 13 },
    );
  });

  it('digests steps compactly: the canonical text with each string of 1 KB or more as # and the sha256 of its JSON text', () => {
    const compact = (value: unknown): string => reference(value, (text) => `#${sha256Hex(JSON.stringify(text))}`);
    const script = fc.string({ unit: 'binary', minLength: 1020, maxLength: 1100 });
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.jsonValue(), script, fc.array(script, { maxLength: 2 })), { maxLength: 4 }), (values) => {
        expect(compactDigest(values)).toBe(sha256Hex(compact(values)));
        expect(compactDigest(values)).toBe(compactDigest(reversedKeys(values)));
      }),
      { numRuns: 200, seed: 14 },
    );
  });

  it('canonicalValue is the value its canonical text parses back to, whatever the value holds', () => {
    const anything = fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withTypedArray: true, withObjectString: true });
    const check = (value: unknown) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(canonicalJson(value));
      } catch (error) {
        expect(() => canonicalValue(value)).toThrow((error as Error).constructor as typeof Error);
        return;
      }
      expect(canonicalValue(value)).toStrictEqual(parsed);
    };
    fc.assert(fc.property(anything, check), { numRuns: 500, seed: 15 });
    const poisoned = JSON.parse('{"__proto__": {"admin": true}, "b": [-0, null]}') as unknown;
    check({ a: undefined, f: () => 1, list: [undefined, () => 1, Symbol('s'), -0], poisoned, script: 'x'.repeat(2000) });
    expect(Object.getPrototypeOf(canonicalValue(poisoned))).toBe(Object.prototype);
  });

  it('refuses NaN and Infinity', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson([Number.POSITIVE_INFINITY])).toThrow(TypeError);
    expect(() => canonicalDigest({ n: Number.NaN })).toThrow(TypeError);
  });
});
