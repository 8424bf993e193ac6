import { setTimeout as sleep } from 'node:timers/promises';
import { KibanaRefusedError, KibanaReplyError, KibanaUnavailableError } from './errors.js';
import { SAVED_OBJECT_ID, type CloseReason } from './grammar.js';

export type AlertStatus = 'open' | 'acknowledged' | 'in-progress' | 'closed';

/** What `POST /api/cases` needs, besides what the client fills in (connector, settings, owner). */
export interface NewCase {
  title: string;
  description: string;
  tags: string[];
}

export interface AlertAttachment {
  /** kibana.alert.uuid */
  alertId: string;
  index: string;
  /** kibana.alert.rule.uuid and the rule's name. */
  rule: { id: string | null; name: string | null };
}

/** A case as Kibana returns it: its id, and the version an update must quote. */
export interface CaseRef {
  id: string;
  version: string;
}

/** One exchange with Kibana, told to the caller for the audit trail (never the Authorization header). */
export type KibanaExchange =
  | { phase: 'sending'; method: Method; path: string; attempt: number; body: unknown }
  | { phase: 'returned'; method: Method; path: string; attempt: number; status: number; text: string; durationMs: number }
  | { phase: 'failed'; method: Method; path: string; attempt: number; message: string; durationMs: number };

type Method = 'GET' | 'POST';

/** Kibana said it did not take the request (overloaded or throttled): safe to send again even when sending twice would not be. */
const notTaken = (error: KibanaUnavailableError) => error.status === 429 || error.status === 503;

export interface KibanaClientOptions {
  /** Kibana's base URL (may carry a base path). */
  url: string;
  space?: string | undefined;
  /** The whole Authorization header value. */
  authorization: string;
  /** Each attempt's time limit. */
  timeoutMs: number;
  /** Attempts per request on 5xx, 429 or no answer; waits double from baseDelayMs, never beyond maxDelayMs. */
  retry?: { attempts: number; baseDelayMs: number; maxDelayMs: number };
  observe?: (exchange: KibanaExchange) => void;
}

const OWNER = 'securitySolution';
const DEFAULT_RETRY = { attempts: 3, baseDelayMs: 1_000, maxDelayMs: 10_000 };
/** Kibana's answers are read up to this size: a case with many comments is large, but not this large. */
const MAX_REPLY_CHARS = 1024 * 1024;

/** Where a Kibana API path lives: under the base URL, and under /s/<space> when a space is set. */
export function kibanaUrl(base: string, space: string | undefined, path: string): string {
  return `${base.replace(/\/+$/, '')}${space === undefined ? '' : `/s/${space}`}${path}`;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1_000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Kibana's own words from an error body ({statusCode, error, message}), else the status text. */
function kibanaMessage(text: string, fallback: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    if (typeof body.message === 'string' && body.message) return body.message.slice(0, 500);
    if (typeof body.error === 'string' && body.error) return body.error.slice(0, 500);
  } catch {
    // not JSON: the status text says it
  }
  return fallback;
}

/**
 * A typed client for the four Kibana requests an escalation makes. Every request carries
 * `kbn-xsrf` and the configured Authorization; 5xx, 429 and lost answers are retried a bounded
 * number of times (Retry-After honoured when it fits the bound), other 4xx fail at once.
 */
export class KibanaClient {
  readonly #options: KibanaClientOptions & { retry: NonNullable<KibanaClientOptions['retry']> };

  constructor(options: KibanaClientOptions) {
    this.#options = { ...options, retry: options.retry ?? DEFAULT_RETRY };
  }

  /**
   * Opens a case. Sending it twice would open two, so it is sent again only when Kibana said it
   * did not take it (429, 503); after a lost answer, look for the case first (findCaseByTag).
   */
  async createCase(newCase: NewCase): Promise<CaseRef> {
    const body = { ...newCase, connector: { id: 'none', name: 'none', type: '.none', fields: null }, settings: { syncAlerts: true }, owner: OWNER };
    return this.#caseRef('POST /api/cases', await this.#send('POST', '/api/cases', body, notTaken));
  }

  /** The oldest Security case carrying this tag, if any. */
  async findCaseByTag(tag: string): Promise<CaseRef | undefined> {
    const query = new URLSearchParams({ owner: OWNER, tags: tag, sortField: 'createdAt', sortOrder: 'asc', perPage: '1' });
    const reply = (await this.#send('GET', `/api/cases/_find?${query}`, undefined, () => true)) as { cases?: unknown };
    if (!Array.isArray(reply.cases)) throw new KibanaReplyError('GET /api/cases/_find', 'has no cases list');
    return reply.cases.length === 0 ? undefined : this.#caseRef('GET /api/cases/_find', reply.cases[0]);
  }

  attachAlert(caseId: string, attachment: AlertAttachment): Promise<CaseRef> {
    return this.#comment(caseId, { type: 'alert', ...attachment, owner: OWNER });
  }

  addComment(caseId: string, comment: string): Promise<CaseRef> {
    return this.#comment(caseId, { type: 'user', comment, owner: OWNER });
  }

  /** Sets detection alerts' status (a reason goes only with closed); Kibana answers with an update-by-query result. */
  async setAlertStatus(alertIds: readonly string[], status: AlertStatus, closeReason?: CloseReason): Promise<{ updated: number }> {
    const body = { signal_ids: alertIds, status, ...(status === 'closed' && closeReason ? { reason: closeReason } : {}) };
    const reply = (await this.#send('POST', '/api/detection_engine/signals/status', body, () => true)) as { updated?: unknown };
    return { updated: typeof reply.updated === 'number' ? reply.updated : 0 };
  }

  async #comment(caseId: string, body: Record<string, unknown>): Promise<CaseRef> {
    // The id comes from Kibana's answer: checked before it becomes part of a URL path.
    if (!SAVED_OBJECT_ID.test(caseId)) throw new KibanaReplyError('POST /api/cases/<id>/comments', `named a case id soar will not put in a URL (${JSON.stringify(caseId.slice(0, 80))})`);
    const path = `/api/cases/${caseId}/comments`;
    return this.#caseRef(`POST ${path}`, await this.#send('POST', path, body, () => true));
  }

  #caseRef(request: string, reply: unknown): CaseRef {
    const { id, version } = (reply ?? {}) as { id?: unknown; version?: unknown };
    if (typeof id !== 'string' || typeof version !== 'string') throw new KibanaReplyError(request, 'has no case id and version');
    return { id, version };
  }

  /** Sends a request, again after a wait when Kibana was unavailable and `again` allows it. */
  async #send(method: Method, path: string, body: unknown, again: (error: KibanaUnavailableError) => boolean): Promise<unknown> {
    const { retry } = this.#options;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(method, path, body, attempt);
      } catch (error) {
        if (!(error instanceof KibanaUnavailableError) || !again(error) || attempt >= retry.attempts) throw error;
        const delay = error.retryAfterMs ?? Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
        // A longer wait than the bound is left to the playbook step's durable retries.
        if (delay > retry.maxDelayMs) throw error;
        await sleep(delay);
      }
    }
  }

  async #once(method: Method, path: string, body: unknown, attempt: number): Promise<unknown> {
    const { observe, timeoutMs, authorization } = this.#options;
    const request = `${method} ${path}`;
    observe?.({ phase: 'sending', method, path, attempt, body });
    const startedAt = Date.now();
    let response: Response;
    let text: string;
    try {
      response = await fetch(kibanaUrl(this.#options.url, this.#options.space, path), {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'kbn-xsrf': 'true', authorization },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
        // A redirect means a wrong URL: it is refused, and the Authorization header never follows it.
        redirect: 'manual',
      });
      text = (await response.text()).slice(0, MAX_REPLY_CHARS);
    } catch (error) {
      const message = String((error as Error).cause ?? error);
      observe?.({ phase: 'failed', method, path, attempt, message, durationMs: Date.now() - startedAt });
      throw new KibanaUnavailableError(request, `no answer: ${message}`, { cause: error });
    }
    observe?.({ phase: 'returned', method, path, attempt, status: response.status, text, durationMs: Date.now() - startedAt });
    if (response.status >= 500 || response.status === 429) {
      const retryAfter = retryAfterMs(response.headers.get('retry-after'));
      throw new KibanaUnavailableError(request, `${response.status} ${kibanaMessage(text, response.statusText)}`, { status: response.status, ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }) });
    }
    if (!response.ok) throw new KibanaRefusedError(request, response.status, kibanaMessage(text, response.statusText));
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new KibanaReplyError(request, 'is not JSON');
    }
  }
}
