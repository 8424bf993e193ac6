import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in Kibana on 127.0.0.1 that enforces the contract soar relies on (paths, `kbn-xsrf`,
 * the Authorization value, JSON bodies with every required field and nothing else, Kibana's size
 * limits) and answers like Kibana: `{statusCode, error, message}` on refusal, `{id, version, …}`
 * for cases. It keeps everything it accepted, and can be told to fail the next requests.
 */

export interface FakeCase {
  id: string;
  version: string;
  space: string;
  title: string;
  description: string;
  tags: string[];
  owner: string;
  settings: { syncAlerts: boolean };
  comments: Array<Record<string, unknown>>;
}

export interface StatusUpdate {
  space: string;
  signal_ids: string[];
  status: string;
  reason?: string;
}

export interface SeenRequest {
  method: string;
  path: string;
  status: number;
}

export interface FakeKibana {
  url: string;
  cases: FakeCase[];
  statusUpdates: StatusUpdate[];
  /** Every request with the status it was answered with (0: the answer was lost), in order. */
  requests: SeenRequest[];
  /** The next `count` requests are carried out, but the connection drops before the answer. */
  loseAnswers(count: number): void;
  /** The next `count` requests (after letting `skip` through) are answered with `status`, before any check. */
  failNext(count: number, status: 429 | 500 | 502 | 503, retryAfter?: string, skip?: number): void;
  close(): Promise<void>;
}

const MAX_PAYLOAD = 1024 * 1024;
const MAX_TITLE = 160;
const MAX_TEXT = 30_000;
const MAX_TAG = 256;
const STATUSES = ['open', 'acknowledged', 'in-progress', 'closed'];
/** Kibana 9.2's predefined reasons for closing alerts (its own list, not soar's). */
const CLOSE_REASONS = ['false_positive', 'duplicate', 'true_positive', 'benign_positive', 'automated_closure', 'other'];

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ERROR_NAMES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict', 413: 'Request Entity Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function exactKeys(what: string, body: Record<string, unknown>, required: string[], optional: string[] = []): void {
  for (const key of required) {
    if (!(key in body)) throw new Refusal(400, `[request body.${what}${key}]: expected value, received undefined`);
  }
  for (const key of Object.keys(body)) {
    if (!required.includes(key) && !optional.includes(key)) throw new Refusal(400, `[request body]: invalid keys "${what}${key}"`);
  }
}

function text(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string') throw new Refusal(400, `[request body.${field}]: expected value of type [string]`);
  if (value.trim() === '') throw new Refusal(400, `The ${field} field cannot be an empty string.`);
  if (value.length > max) throw new Refusal(400, `The length of the ${field} is too long. The maximum length is ${max}.`);
  return value;
}

function stringOrList(field: string, value: unknown): void {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((item) => typeof item === 'string' && item !== '')) throw new Refusal(400, `[request body.${field}]: expected a non-empty string or array of strings`);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD) throw new Refusal(413, `Payload content length greater than maximum allowed: ${MAX_PAYLOAD}`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeKibana(options: { authorization: string }): Promise<FakeKibana> {
  const cases: FakeCase[] = [];
  const statusUpdates: StatusUpdate[] = [];
  const requests: SeenRequest[] = [];
  let lostAnswers = 0;
  let failures: { count: number; status: number; retryAfter: string | undefined; skip: number } = { count: 0, status: 503, retryAfter: undefined, skip: 0 };

  const createCase = (space: string, body: Record<string, unknown>) => {
    exactKeys('', body, ['title', 'description', 'tags', 'connector', 'settings', 'owner'], ['assignees', 'severity', 'category', 'customFields']);
    const title = text('title', body.title, MAX_TITLE);
    const description = text('description', body.description, MAX_TEXT);
    if (!Array.isArray(body.tags) || !body.tags.every((tag) => typeof tag === 'string')) throw new Refusal(400, '[request body.tags]: expected value of type [array] of strings');
    for (const tag of body.tags as string[]) text('tag', tag, MAX_TAG);
    const { connector, settings } = body;
    if (!isObject(connector)) throw new Refusal(400, '[request body.connector]: expected value of type [object]');
    exactKeys('connector.', connector, ['id', 'name', 'type', 'fields']);
    if (connector.id !== 'none' || connector.type !== '.none' || connector.fields !== null) throw new Refusal(400, 'Invalid connector: a .none connector has id "none" and fields null');
    if (!isObject(settings) || typeof settings.syncAlerts !== 'boolean') throw new Refusal(400, '[request body.settings.syncAlerts]: expected value of type [boolean]');
    if (typeof body.owner !== 'string' || !['securitySolution', 'observability', 'cases'].includes(body.owner)) throw new Refusal(400, `[request body.owner]: invalid owner ${JSON.stringify(body.owner)}`);
    const created: FakeCase = { id: randomUUID(), version: 'WzEsMV0=', space, title, description, tags: body.tags as string[], owner: body.owner, settings: { syncAlerts: settings.syncAlerts }, comments: [] };
    cases.push(created);
    return reply(created);
  };

  const reply = (found: FakeCase) => ({ ...found, totalComment: found.comments.length, status: 'open', comments: found.comments });

  const addComment = (space: string, caseId: string, body: Record<string, unknown>) => {
    const found = cases.find((candidate) => candidate.id === caseId && candidate.space === space);
    if (!found) throw new Refusal(404, `Saved object [cases/${caseId}] not found`);
    if (body.type === 'user') {
      exactKeys('', body, ['type', 'comment', 'owner']);
      text('comment', body.comment, MAX_TEXT);
    } else if (body.type === 'alert') {
      exactKeys('', body, ['type', 'alertId', 'index', 'rule', 'owner']);
      stringOrList('alertId', body.alertId);
      stringOrList('index', body.index);
      if (!isObject(body.rule)) throw new Refusal(400, '[request body.rule]: expected value of type [object]');
      exactKeys('rule.', body.rule, ['id', 'name']);
      if (![body.rule.id, body.rule.name].every((value) => value === null || typeof value === 'string')) throw new Refusal(400, '[request body.rule]: id and name are strings or null');
    } else {
      throw new Refusal(400, `[request body.type]: expected one of user, alert, received ${JSON.stringify(body.type)}`);
    }
    if (body.owner !== found.owner) throw new Refusal(400, `The owner field of the comment must match the case's owner ${found.owner}`);
    found.comments.push({ id: randomUUID(), ...body });
    found.version = Buffer.from(`[${found.comments.length + 1},1]`).toString('base64');
    return reply(found);
  };

  const setStatus = (space: string, body: Record<string, unknown>) => {
    exactKeys('', body, ['status', 'signal_ids'], ['conflicts', 'reason']);
    if (typeof body.status !== 'string' || !STATUSES.includes(body.status)) throw new Refusal(400, `[request body.status]: expected one of ${STATUSES.join(', ')}`);
    if (!Array.isArray(body.signal_ids) || body.signal_ids.length === 0 || !body.signal_ids.every((id) => typeof id === 'string' && id !== '')) throw new Refusal(400, '[request body.signal_ids]: expected a non-empty array of strings');
    // Kibana 9.2+: a reason only closes; with another status it is not part of the request and is dropped.
    if (body.reason !== undefined && body.status === 'closed' && !CLOSE_REASONS.includes(body.reason as string)) {
      throw new Refusal(400, `[request body.reason]: expected one of ${CLOSE_REASONS.join(', ')}`);
    }
    const reason = body.status === 'closed' && typeof body.reason === 'string' ? { reason: body.reason } : {};
    statusUpdates.push({ space, signal_ids: body.signal_ids as string[], status: body.status, ...reason });
    return { took: 3, timed_out: false, total: body.signal_ids.length, updated: body.signal_ids.length, deleted: 0, batches: 1, version_conflicts: 0, noops: 0, retries: { bulk: 0, search: 0 }, throttled_millis: 0, requests_per_second: -1, throttled_until_millis: 0, failures: [] };
  };

  const findCases = (space: string, query: URLSearchParams) => {
    const tags = query.getAll('tags');
    const owners = query.getAll('owner');
    const found = cases.filter((candidate) => candidate.space === space && tags.every((tag) => candidate.tags.includes(tag)) && (owners.length === 0 || owners.includes(candidate.owner)));
    const perPage = Number(query.get('perPage') ?? 20);
    return { cases: found.slice(0, perPage).map(reply), page: 1, per_page: perPage, total: found.length, count_open_cases: found.length, count_in_progress_cases: 0, count_closed_cases: 0 };
  };

  async function handle(request: IncomingMessage): Promise<unknown> {
    if (failures.count > 0 && failures.skip > 0) {
      failures.skip--;
    } else if (failures.count > 0) {
      failures.count--;
      throw new Refusal(failures.status, 'the stand-in was told to fail this request');
    }
    const url = new URL(request.url ?? '/', 'http://kibana');
    const spaced = /^\/s\/([a-z0-9_-]+)(\/.*)$/.exec(url.pathname);
    const space = spaced?.[1] ?? 'default';
    const path = spaced?.[2] ?? url.pathname;
    const comments = /^\/api\/cases\/([^/]+)\/comments$/.exec(path);
    const route = path === '/api/cases' ? 'case' : comments ? 'comment' : path === '/api/detection_engine/signals/status' ? 'status' : path === '/api/cases/_find' ? 'find' : undefined;
    if (!route || request.method !== (route === 'find' ? 'GET' : 'POST')) throw new Refusal(404, 'Not Found');
    if (request.headers.authorization !== options.authorization) throw new Refusal(401, '[security_exception]: unable to authenticate user');
    if (route === 'find') return findCases(space, url.searchParams);
    if (request.headers['kbn-xsrf'] === undefined) throw new Refusal(400, 'Request must contain a kbn-xsrf header.');
    if (!/^application\/json(;|$)/.test(request.headers['content-type'] ?? '')) throw new Refusal(415, 'Unsupported Media Type');
    let body: unknown;
    try {
      body = JSON.parse(await readBody(request));
    } catch (error) {
      if (error instanceof Refusal) throw error;
      throw new Refusal(400, 'Invalid request payload JSON format');
    }
    if (!isObject(body)) throw new Refusal(400, '[request body]: expected value of type [object]');
    if (route === 'case') return createCase(space, body);
    if (route === 'comment') return addComment(space, decodeURIComponent(comments![1]!), body);
    return setStatus(space, body);
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0]!;
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      requests.push({ method: request.method ?? '', path, status });
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(JSON.stringify(body));
    };
    const retryAfter = failures.count > 0 && failures.skip === 0 ? failures.retryAfter : undefined;
    handle(request).then(
      (body) => {
        if (lostAnswers > 0) {
          lostAnswers--;
          requests.push({ method: request.method ?? '', path, status: 0 });
          response.socket?.destroy();
          return;
        }
        answer(200, body);
      },
      (error: unknown) => {
        const status = error instanceof Refusal ? error.status : 500;
        const message = error instanceof Error ? error.message : String(error);
        // Drain what the client still sends, so it reads our answer rather than a reset.
        request.resume();
        answer(status, { statusCode: status, error: ERROR_NAMES[status] ?? 'Error', message }, retryAfter === undefined ? {} : { 'retry-after': retryAfter });
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    cases,
    statusUpdates,
    requests,
    loseAnswers(count) {
      lostAnswers = count;
    },
    failNext(count, status, retryAfter, skip = 0) {
      failures = { count, status, retryAfter, skip };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
