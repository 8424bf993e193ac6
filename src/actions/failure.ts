import { SoarError } from '../errors.js';

/** A step did not achieve its effect. `retryable` says whether the same step may succeed later. */
export class StepFailedError extends SoarError {
  readonly evidence: Record<string, unknown>;
  constructor(message: string, options: { retryable: boolean; evidence?: Record<string, unknown>; cause?: unknown; code?: string }) {
    super(options.code ?? 'STEP_FAILED', message, { retryable: options.retryable, cause: options.cause });
    this.evidence = options.evidence ?? {};
  }
}

/** The link died before the host said how a command ended: settle with verify, never guess. */
export class StepOutcomeUnknownError extends SoarError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('STEP_OUTCOME_UNKNOWN', message, { retryable: false, cause: options.cause });
  }
}
