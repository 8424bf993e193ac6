import { isSoarError } from '../errors.js';
import type { Store } from '../store/store.js';

/** Input refused before any run exists (bad alert, alert not taken, unknown host) is recorded under run "-". */
export function recordRefusedInput(store: Store, error: unknown): void {
  if (isSoarError(error)) store.transaction(() => store.appendAudit({ run: '-', kind: 'input.refused', actor: 'soar', data: error.toJSON() }));
}
