import { AlertIntakeError } from '../alert/intake.js';
import { ApprovalRefusedError } from '../approvals/approval.js';
import { RunNotFoundError } from '../engine/runtime.js';
import { InvalidFieldError, isSoarError, SoarError } from '../errors.js';
import { AlertNotTakenError } from '../plan/plan.js';

/** The body of every error reply: a stable code, what to do, and the input field or reasons when known. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string; reasons?: string[] };
}

/** A request soar will not serve, with the HTTP status that tells Kibana whether to retry. */
export class HttpRefusal extends SoarError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

/**
 * The status of an error: 400 bad input (names the JSON path), 422 an alert the playbook does not
 * take or cannot act on, 403 a refused decision, 404 an unknown run; 4xx are never retried by
 * Kibana, so only soar's own trouble is a 5xx.
 */
export function httpStatusOf(error: unknown): number {
  if (error instanceof HttpRefusal) return error.status;
  if (error instanceof AlertIntakeError || error instanceof InvalidFieldError) return 400;
  if (error instanceof AlertNotTakenError) return 422;
  if (error instanceof ApprovalRefusedError) return 403;
  if (error instanceof RunNotFoundError) return 404;
  return 500;
}

export function errorBody(error: unknown): ErrorBody {
  if (!isSoarError(error)) return { error: { code: 'INTERNAL', message: 'soar failed to serve this request; the operational log has the details' } };
  return { error: { ...error.toJSON(), ...(error instanceof AlertNotTakenError ? { reasons: error.reasons } : {}) } };
}
