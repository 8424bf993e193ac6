/** Benchmarks report medians of several rounds and ratios against a baseline measured in the same run. */

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values: run at least one round');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** How many times `value` is `baseline`, e.g. "0.42×". */
export function ratio(value: number, baseline: number): string {
  return `${(value / baseline).toFixed(2)}×`;
}

/** A rate with thousands separated, e.g. "12,345/s". */
export function perSecond(count: number, ms: number): number {
  return (count * 1000) / ms;
}

export function formatNumber(value: number, digits = 0): string {
  // A value that rounds to zero is shown as 0, never "-0.0".
  const rounded = Number(value.toFixed(digits)) || 0;
  return rounded.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Runs `round` `rounds` times (after one unmeasured warm-up when asked) and gives every round's value. */
export async function rounds(count: number, round: (index: number) => Promise<number> | number, options: { warmUp?: boolean } = {}): Promise<number[]> {
  if (options.warmUp) await round(-1);
  const values: number[] = [];
  for (let index = 0; index < count; index += 1) values.push(await round(index));
  return values;
}
