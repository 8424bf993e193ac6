import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandLine, shellQuote } from '../../../src/command/quote.js';

/** What a real POSIX shell hands to a program for the given command line. */
function argvThroughShell(shell: string, line: string): string[] {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${line}`]);
  return out.toString('utf8').split('\0').slice(0, -1);
}

const noNul = fc.string({ unit: 'binary', maxLength: 64 }).filter((s) => !s.includes('\0'));
const nasty = fc.constantFrom("'", '"', '$(id)', '`id`', '\\', '\n', '\r\n', ' ', '\t', '*', '?', '[a]', '~', '!', '#', ';', '&', '|', '<', '>', '$HOME', '${IFS}', '-n', '--', '%s', 'é', '\u202e', '\u200b', '');
const hostile = fc.array(fc.oneof(noNul, nasty), { maxLength: 6 }).map((parts) => parts.join(''));

describe('shellQuote', () => {
  for (const shell of ['sh', 'bash']) {
    // Many values per shell started (one printf each): a slow machine still runs hundreds of them.
    it(`round-trips any string through a real ${shell}`, () => {
      fc.assert(
        fc.property(fc.array(fc.oneof(noNul, hostile), { minLength: 1, maxLength: 20 }), (values) => {
          const out = execFileSync(shell, ['-c', values.map((value) => `printf '%s\\0' ${shellQuote(value)}`).join('\n')]);
          expect(out.toString('utf8').split('\0').slice(0, -1)).toEqual(values);
        }),
        { numRuns: 40 },
      );
    });
  }

  it('keeps every element of an argv whole, whatever it holds', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(noNul, hostile), { minLength: 1, maxLength: 8 }), (argv) => {
        expect(argvThroughShell('sh', commandLine(argv))).toEqual(argv);
      }),
      { numRuns: 200 },
    );
  });

  it('leaves plain words readable and quotes everything else', () => {
    expect(shellQuote('c3pool_miner.service')).toBe('c3pool_miner.service');
    expect(shellQuote('/tmp/c3pool_miner.service')).toBe('/tmp/c3pool_miner.service');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('A=1')).toBe(`'A=1'`);
    expect(shellQuote('~root')).toBe(`'~root'`);
  });

  it('refuses NUL, which no argv can carry', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });
});
