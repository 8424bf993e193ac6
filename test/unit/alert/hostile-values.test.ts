import { describe, expect, it } from 'vitest';
import { extractTarget } from '../../../src/alert/extract-target.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { AlertIntakeError } from '../../../src/alert/intake-error.js';
import { InvalidFieldError, SoarError } from '../../../src/errors.js';
import { isPrintableText } from '../../../src/grammar.js';
import { exampleHit, exampleWith } from './example.js';
import { HOSTILE_VALUES } from './hostile-values.js';

function refusal(hit: unknown): unknown {
  try {
    const [alert] = parseAlerts(hit);
    if (alert === undefined) return new Error('parseAlerts returned no alert');
    return extractTarget(alert);
  } catch (error) {
    return error;
  }
}

describe('hostile field values', () => {
  it('the table covers at least 40 values', () => {
    expect(HOSTILE_VALUES.length).toBeGreaterThanOrEqual(40);
  });

  it('the unchanged example is accepted (so each refusal below is about the hostile value)', () => {
    expect(refusal(exampleHit())).toMatchObject({ host: { name: 'web-01' }, unit: 'c3pool_miner.service' });
  });

  it.each(HOSTILE_VALUES.map((entry) => [entry.field, entry.why, entry] as const))(
    '%s: %s is refused',
    (_field, _why, { field, value }) => {
      const error = refusal(exampleWith(field, value));
      expect(error).toBeInstanceOf(SoarError);
      expect(error instanceof AlertIntakeError || error instanceof InvalidFieldError).toBe(true);
      const soarError = error as SoarError;
      expect(soarError.field).toBe(`_source.${field}`);
      expect(soarError.message.startsWith(`_source.${field}: `)).toBe(true);
      // The message shows the value escaped: no control, line-breaking or direction characters.
      expect(isPrintableText(soarError.message, 1000)).toBe(true);
      expect(soarError.message).not.toContain('    at ');
    },
  );
});
