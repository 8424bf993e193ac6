import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CappedOutput } from '../../../src/transport/output.js';
import { TRUNCATION_MARKER } from '../../../src/transport/transport.js';

function collect(cap: number, chunks: Buffer[]): CappedOutput {
  const output = new CappedOutput(cap);
  for (const chunk of chunks) output.push(chunk);
  return output;
}

describe('CappedOutput', () => {
  it('keeps output under the cap whole, without a marker', () => {
    const output = collect(10, [Buffer.from('hello '), Buffer.from('you!')]);
    expect(output.text()).toBe('hello you!');
    expect(output.truncated).toBe(false);
  });

  it('cuts at the cap and ends with the marker', () => {
    const output = collect(4, [Buffer.from('ab'), Buffer.from('cdef'), Buffer.from('gh')]);
    expect(output.text()).toBe(`abcd${TRUNCATION_MARKER}`);
    expect(output.truncated).toBe(true);
  });

  it('never cuts a UTF-8 character in half', () => {
    // "é" is 2 bytes, "€" 3, "😀" 4: every cap inside one drops the whole character.
    for (const [cap, expected] of [[1, 'a'], [2, 'a'], [3, 'aé'], [4, 'aé'], [5, 'aé'], [6, 'aé€'], [9, 'aé€'], [10, 'aé€😀']] as const) {
      const output = collect(cap, [Buffer.from('aé€😀b')]);
      expect(output.text(), `cap ${cap}`).toBe(`${expected}${TRUNCATION_MARKER}`);
    }
  });

  it('for any chunks and cap: the kept text is a prefix of the input, at most cap bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' })), fc.nat(64), (parts, cap) => {
        const input = parts.join('');
        const output = collect(cap, parts.map((part) => Buffer.from(part)));
        const over = Buffer.byteLength(input) > cap;
        expect(output.truncated).toBe(over);
        if (!over) {
          expect(output.text()).toBe(input);
          return;
        }
        const kept = output.text().slice(0, -TRUNCATION_MARKER.length);
        expect(output.text().endsWith(TRUNCATION_MARKER)).toBe(true);
        expect(input.startsWith(kept)).toBe(true);
        // At most the 3 leading bytes of a 4-byte character are dropped.
        expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(cap);
        expect(Buffer.byteLength(kept)).toBeGreaterThanOrEqual(cap - 3);
      }),
    );
  });

  it('refuses a negative cap', () => {
    expect(() => new CappedOutput(-1)).toThrow(RangeError);
  });
});
