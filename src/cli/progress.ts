import type { ProgressEvent } from '../engine/runtime.js';
import { formatDuration } from '../plan/render.js';

/** Live progress of runs, one line an event, for a person watching the terminal. */
export function progressPrinter(write: (text: string) => void): (event: ProgressEvent) => void {
  const started = new Map<string, number>();
  return (event) => {
    const where = event.kind === 'finished' ? event.run : `${event.run} ${event.step.id}`;
    switch (event.kind) {
      case 'step':
        started.set(where, Date.now());
        write(`  ${where}: running ${event.step.action}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''} …\n`);
        break;
      case 'result': {
        const took = (Date.now() - (started.get(where) ?? Date.now())) / 1000;
        write(`  ${where}: ${event.result.outcome}${event.step.destructive && !event.result.changed ? ' (nothing changed)' : ''}: ${event.result.summary} (${took.toFixed(1)}s)\n`);
        break;
      }
      case 'failed':
        write(`  ${where}: FAILED: ${event.message}${event.retryable ? '' : ' (not retryable)'}\n`);
        break;
      case 'settled':
        write(`  ${where}: found started before a restart: verify says its effect is ${event.inPlace ? 'in place: not run again' : 'not in place: running it again'}\n`);
        break;
      case 'approval':
        write(`  ${where}: waiting for approval (${event.count} of ${event.roles.join(' or ') || 'any approver'}, until ${event.expiresAt})\n`);
        break;
      case 'decision':
        write(`  ${where}: ${event.decision} by ${event.by}\n`);
        break;
      case 'retry':
        write(`  ${where}: retry ${event.attempt} in ${formatDuration(event.delayMs)}\n`);
        break;
      case 'finished':
        write(`  ${where}: finished: ${event.status}\n`);
        break;
    }
  };
}
