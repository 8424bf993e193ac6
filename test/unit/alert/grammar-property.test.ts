import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIP } from 'node:net';
import { extractTarget } from '../../../src/alert/extract-target.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { AlertIntakeError } from '../../../src/alert/intake-error.js';
import { InvalidFieldError } from '../../../src/errors.js';
import { HOST_NAME, SYSTEMD_UNIT_NAME, ipFamily } from '../../../src/grammar.js';
import { exampleWith, sourceOf } from './example.js';

/** Characters of the grammars, their near misses, and the usual attacks, so that many runs pass. */
const ALPHABET = [
  ...'abcxyzABCXYZ0189-._@:',
  ...' ;|&$`\'"\\/*?[]~%\n\r\t\u0000',
  '\u200b', '\u202e', '\uff0e', '\u0430', '\u2028', '\u00e9',
];

const candidate = fc.oneof(
  fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 300 }),
  fc.array(fc.stringMatching(/^[a-z0-9-]{1,63}$/), { minLength: 1, maxLength: 6 }).map((labels) => labels.join('.')),
);
const unitCandidate = fc.oneof(
  candidate,
  fc.tuple(candidate, fc.constantFrom('.service', '.timer', '.service ', '.Service')).map(([stem, suffix]) => stem + suffix),
);

/** Runs intake and extraction; returns the target or the refusal, and fails on any other throw. */
function outcome(field: string, value: unknown, drop?: string): { accepted: string } | { refused: string | undefined } {
  const hit = exampleWith(field, value);
  if (drop !== undefined) delete (sourceOf(hit).file as Record<string, unknown>)[drop];
  try {
    const [alert] = parseAlerts(hit);
    const target = extractTarget(alert!);
    return { accepted: field === 'host.name' ? target.host.name : target.unit };
  } catch (error) {
    if (error instanceof InvalidFieldError || error instanceof AlertIntakeError) return { refused: error.field };
    throw error;
  }
}

describe('random values in strict fields: accepted only when they match the grammar, else refused', () => {
  it('host.name', () => {
    let accepted = 0;
    fc.assert(
      fc.property(candidate, (value) => {
        const result = outcome('host.name', value);
        if ('accepted' in result) {
          accepted += 1;
          expect(result.accepted).toBe(value);
          expect(HOST_NAME.test(value)).toBe(true);
        } else {
          expect(HOST_NAME.test(value)).toBe(false);
          expect(result.refused).toBe('_source.host.name');
        }
      }),
      { numRuns: 2000 },
    );
    // Enough valid values came up for the accepting half to be exercised too.
    expect(accepted).toBeGreaterThan(50);
  });

  it('file.name (with and without the path hint naming it)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(unitCandidate, fc.boolean(), (value, withHint) => {
        const result = withHint ? outcomeWithHint(value) : outcome('file.name', value, 'path');
        const valid = SYSTEMD_UNIT_NAME.test(value) && value.endsWith('.service');
        if ('accepted' in result) {
          accepted += 1;
          expect(result.accepted).toBe(value);
          expect(valid).toBe(true);
        } else {
          expect(valid).toBe(false);
          expect(result.refused).toBe('_source.file.name');
        }
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(20);
  });

  it('any JSON value in host.name is accepted or refused, never a crash', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = outcome('host.name', value);
        if ('refused' in result) expect(result.refused).toBe('_source.host.name');
        else expect(typeof value === 'string' && HOST_NAME.test(value)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

/** file.name set to `value` and file.path to `/tmp/<value>`: a valid name is accepted with its hint. */
function outcomeWithHint(value: string): { accepted: string } | { refused: string | undefined } {
  const hit = exampleWith('file.name', value);
  (sourceOf(hit).file as Record<string, unknown>).path = `/tmp/${value}`;
  try {
    const [alert] = parseAlerts(hit);
    const target = extractTarget(alert!);
    expect(target.pathHint).toBe(`/tmp/${value}`);
    return { accepted: target.unit };
  } catch (error) {
    if (error instanceof InvalidFieldError || error instanceof AlertIntakeError) return { refused: error.field };
    throw error;
  }
}

describe('ipFamily', () => {
  /** Addresses and near misses: hex groups, IPv4 tails, compression, and what breaks them. */
  const addressLike = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV4Extended(),
    fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFg:.%/ '), maxLength: 45 }),
    fc.tuple(fc.ipV6(), fc.constantFrom('', ':', '::', '.1', ':1.2.3.4', ' ', '0', '%eth0')).map(([address, tail]) => address + tail),
    candidate,
  );

  it('agrees with net.isIP on every address without a zone index, and refuses zone indexes', () => {
    let addresses = 0;
    fc.assert(
      fc.property(addressLike, (value) => {
        const family = ipFamily(value);
        if (family !== 0) addresses += 1;
        expect(family).toBe(value.includes('%') || value.length > 45 ? 0 : isIP(value));
      }),
      { numRuns: 5000 },
    );
    expect(addresses).toBeGreaterThan(1000);
  });
});
