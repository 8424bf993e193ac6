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
  const client = clientStatus(error);
  if (client !== undefined) return client;
  if (error instanceof AlertIntakeError || error instanceof InvalidFieldError) return 400;
  if (error instanceof AlertNotTakenError) return 422;
  if (error instanceof ApprovalRefusedError) return 403;
  if (error instanceof RunNotFoundError) return 404;
  return 500;
}

export function errorBody(error: unknown): ErrorBody {
  if (isSoarError(error)) return { error: { ...error.toJSON(), ...(error instanceof AlertNotTakenError ? { reasons: error.reasons } : {}) } };
  if (clientStatus(error) !== undefined) return { error: { code: (error as { code?: string }).code ?? 'BAD_REQUEST', message: (error as Error).message } };
  return { error: { code: 'INTERNAL', message: 'soar failed to serve this request; the operational log has the details' } };
}

/** fastify's own refusals (413 body too large, 400 bad JSON, 415 media type) carry a 4xx statusCode. */
function clientStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
