/**
 * Alert timestamps arrive as ISO-8601 text or epoch milliseconds; both become one ISO string in
 * UTC. Text must carry a zone (a local time would be a guess) and name a real calendar date.
 */
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2}):?(\d{2}))$/;

/** The latest instant a JavaScript Date can hold (ECMA-262 time value range). */
const MAX_EPOCH_MS = 8.64e15;

export function normaliseTimestamp(value: string | number): string | undefined {
  if (typeof value === 'number') {
    const valid = Number.isSafeInteger(value) && value >= 0 && value <= MAX_EPOCH_MS;
    return valid ? new Date(value).toISOString() : undefined;
  }
  const match = ISO_8601.exec(value);
  if (match === null) return undefined;
  const part = (group: number): number => Number(match[group] ?? 0);
  const [year, month, day, hour, minute, second] = [part(1), part(2), part(3), part(4), part(5), part(6)];
  const [fraction, sign, offsetHours, offsetMinutes] = [match[7] ?? '', match[8], part(9), part(10)];
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, Number(fraction.slice(0, 3).padEnd(3, '0')));
  const date = new Date(local);
  // Date.UTC rolls 2024-02-30 over into March: a date that does not round-trip does not exist.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  const offsetMs = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  const instant = local - offsetMs;
  return instant >= 0 && instant <= MAX_EPOCH_MS ? new Date(instant).toISOString() : undefined;
}
