import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';

export const RESULTS_FILE = new URL('../RESULTS.md', import.meta.url);

/** One line of a result table: what was measured, its median, and how it compares. */
export interface ResultRow {
  measure: string;
  median: string;
  compared: string;
  target?: string;
}

/** Where the numbers were measured: results from different machines are not comparable. */
export function machine(): string {
  const kernel = execFileSync('uname', ['-srm'], { encoding: 'utf8' }).trim();
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${kernel}, ${cpu}, ${cpus().length} cores, node ${process.version}`;
}

export function table(rows: readonly ResultRow[]): string {
  const lines = [
    '| measure | median | compared | target |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.measure} | ${row.median} | ${row.compared} | ${row.target ?? ''} |`),
  ];
  return lines.join('\n');
}

/** Prints a benchmark's table and appends it, dated and with the machine, to bench/RESULTS.md. */
export function publish(title: string, rows: readonly ResultRow[], notes: readonly string[] = []): void {
  const section = [`## ${title}: ${new Date().toISOString()}`, '', machine(), '', table(rows), '', ...notes.map((note) => `- ${note}`), ''].join('\n');
  console.log(`\n${section}`);
  if (!existsSync(RESULTS_FILE)) writeFileSync(RESULTS_FILE, '# Benchmark results\n\nAppended by `npm run bench` (see bench/README.md); medians of several rounds, ratios against a baseline measured in the same run.\n\n');
  appendFileSync(RESULTS_FILE, `\n${section}\n`);
}
