import type { ProgressEvent } from '../engine/run.js';
import { formatDuration } from '../plan/render.js';

/** Live progress of a run, one line an event, for a person watching the terminal. */
export function progressPrinter(write: (text: string) => void, total: number): (event: ProgressEvent) => void {
  const started = new Map<string, number>();
  const position = new Map<string, number>();
  const label = (id: string) => {
    if (!position.has(id)) position.set(id, position.size + 1);
    return `[${position.get(id)}/${total}] ${id}`;
  };
  return (event) => {
    switch (event.kind) {
      case 'step':
        started.set(event.step.id, Date.now());
        write(`  ${label(event.step.id)}: running ${event.step.action}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''} …\n`);
        break;
      case 'result': {
        const took = Date.now() - (started.get(event.step.id) ?? Date.now());
        write(`  ${label(event.step.id)}: ${event.result.outcome}${event.result.changed ? '' : ' (nothing changed)'}: ${event.result.summary} (${(took / 1000).toFixed(1)}s)\n`);
        break;
      }
      case 'failed':
        write(`  ${label(event.step.id)}: FAILED: ${event.message}${event.retryable ? '' : ' (not retryable)'}\n`);
        break;
      case 'approval':
        write(`  ${label(event.step.id)}: waiting for approval (${event.count} of ${event.roles.join(' or ') || 'any approver'})\n`);
        break;
      case 'decision':
        write(`  ${label(event.step.id)}: ${event.decision} by ${event.by}\n`);
        break;
      case 'retry':
        write(`  ${label(event.step.id)}: retry ${event.attempt} in ${formatDuration(event.delayMs)}\n`);
        break;
      case 'finished':
        write(`  finished: ${event.status}${event.context.escalation ? `, escalated (${event.context.escalation.reason} at ${event.context.escalation.step})` : ''}\n`);
        break;
    }
  };
}
