import type { CommandRun, PlanContext } from '../../../src/actions/action.js';
import { Records } from '../../../src/actions/records.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { extractTarget } from '../../../src/alert/target.js';
import { defaultConfig, type Config } from '../../../src/config/config.js';
import { exampleHit, setField, sourceOf } from '../alert/example.js';

/** What a remote script printed: one NUL-terminated record per line given. */
export function stdoutOf(lines: readonly string[]): string {
  return lines.map((line) => `${line}\0`).join('');
}

export function recordsOf(...lines: string[]): Records {
  return new Records(stdoutOf(lines));
}

/** A host command that exited 0 and printed these records (captured from real lab runs). */
export function runOf(...lines: string[]): CommandRun {
  const stdout = stdoutOf(lines);
  return {
    purpose: 'captured from a lab host',
    result: { command: 'sh -c …', exitCode: 0, signal: null, stdout, stderr: '', truncated: false, startedAt: '2026-11-23T14:45:00.000Z', durationMs: 300, timedOut: false, outcomeUnknown: false },
    records: new Records(stdout),
  };
}

/** The planning context of the example alert with some fields changed (host.name lab2-h1). */
export function contextFor(fields: Record<string, unknown> = {}, config: Config = defaultConfig()): PlanContext {
  const hit = exampleHit();
  for (const [field, value] of Object.entries({ 'host.name': 'lab2-h1', ...fields })) setField(sourceOf(hit), field, value);
  const [alert] = parseAlerts(hit);
  return { target: extractTarget(alert!), config, runId: 'run-5d1c3b0e0a1b11ef', timeoutMs: 60_000, alertTime: alert!.timestamp };
}

/** What a call threw (undefined when it returned). */
export function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}
