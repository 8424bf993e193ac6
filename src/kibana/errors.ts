import { SoarError } from '../errors.js';

/** Kibana could not answer now (5xx, 429, no answer): the same request may succeed later. */
export class KibanaUnavailableError extends SoarError {
  readonly status: number | undefined;
  /** How long Kibana asked us to wait (Retry-After), when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(request: string, reason: string, options: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super('KIBANA_UNAVAILABLE', `${request}: Kibana is unavailable (${reason}); soar retries, check Kibana's health if it persists`, { retryable: true, cause: options.cause });
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Kibana refused the request for good (a 4xx other than 429): retrying the same request cannot help. */
export class KibanaRefusedError extends SoarError {
  readonly status: number;
  constructor(request: string, status: number, kibanaMessage: string) {
    super('KIBANA_REFUSED', `${request}: Kibana refused it with ${status}: ${kibanaMessage}${HINTS[status] ?? ''}`, { retryable: false });
    this.status = status;
  }
}

/** Kibana said yes but its answer lacks what soar needs next (a case without id or version). */
export class KibanaReplyError extends SoarError {
  constructor(request: string, what: string) {
    super('KIBANA_BAD_REPLY', `${request}: Kibana's answer ${what}; is escalation.kibana.url really Kibana?`, { retryable: false });
  }
}

const HINTS: Record<number, string> = {
  401: ' (check escalation.kibana.auth: the whole header value, "ApiKey <base64>" or "Basic <base64>")',
  403: ' (the API key or user lacks the Cases or Security alerts privilege in this space)',
  404: ' (check escalation.kibana.url and space)',
};
