import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KibanaClient, retryAfterMs, type KibanaExchange } from '../../../src/kibana/client.js';
import { KibanaRefusedError, KibanaReplyError, KibanaUnavailableError } from '../../../src/kibana/errors.js';
import { startFakeKibana, type FakeKibana } from '../../support/kibana-server.js';

const AUTH = 'ApiKey c29hcjpzZWNyZXQ=';
const ALERT = '80e1383f856e67c1b7f7a1634744fa6d66b6e2ef7aa26d226e57afb5a7b2b4a1';

let kibana: FakeKibana;
let exchanges: KibanaExchange[];
const client = (overrides: Partial<ConstructorParameters<typeof KibanaClient>[0]> = {}) =>
  new KibanaClient({ url: kibana.url, authorization: AUTH, timeoutMs: 5_000, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 2_000 }, observe: (exchange) => exchanges.push(exchange), ...overrides });

beforeEach(async () => {
  kibana = await startFakeKibana({ authorization: AUTH });
  exchanges = [];
});
afterEach(() => kibana.close());

/** A raw request: the right headers unless `headers` changes one (undefined leaves it out). */
function post(path: string, body: unknown, headers: Record<string, string | undefined> = {}) {
  const sent = Object.entries({ 'content-type': 'application/json', 'kbn-xsrf': 'true', authorization: AUTH, ...headers }).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return fetch(`${kibana.url}${path}`, { method: 'POST', headers: sent, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

const GOOD_CASE = { title: 't', description: 'd', tags: ['soar'], connector: { id: 'none', name: 'none', type: '.none', fields: null }, settings: { syncAlerts: true }, owner: 'securitySolution' };

describe('the fake Kibana enforces the contract (bad requests are refused)', () => {
  it.each([
    ['no kbn-xsrf', '/api/cases', GOOD_CASE, { 'kbn-xsrf': undefined }, 400, /kbn-xsrf/],
    ['a wrong Authorization', '/api/cases', GOOD_CASE, { authorization: 'ApiKey bm9wZQ==' }, 401, /unable to authenticate/],
    ['a text body', '/api/cases', GOOD_CASE, { 'content-type': 'text/plain' }, 415, /Unsupported/],
    ['broken JSON', '/api/cases', '{"title":', {}, 400, /JSON format/],
    ['a case without owner', '/api/cases', { ...GOOD_CASE, owner: undefined }, {}, 400, /owner/],
    ['a case without tags', '/api/cases', { ...GOOD_CASE, tags: undefined }, {}, 400, /tags/],
    ['a case with a real connector', '/api/cases', { ...GOOD_CASE, connector: { id: 'jira', name: 'j', type: '.jira', fields: null } }, {}, 400, /connector/],
    ['a case with an unknown key', '/api/cases', { ...GOOD_CASE, severity_level: 'x' }, {}, 400, /invalid keys/],
    ['a title over 160 characters', '/api/cases', { ...GOOD_CASE, title: 'x'.repeat(161) }, {}, 400, /maximum length is 160/],
    ['an empty description', '/api/cases', { ...GOOD_CASE, description: ' ' }, {}, 400, /empty/],
    ['a status without ids', '/api/detection_engine/signals/status', { status: 'closed', signal_ids: [] }, {}, 400, /signal_ids/],
    ['an unknown status', '/api/detection_engine/signals/status', { status: 'resolved', signal_ids: [ALERT] }, {}, 400, /status/],
    ['an unknown close reason', '/api/detection_engine/signals/status', { status: 'closed', reason: 'miner_removed', signal_ids: [ALERT] }, {}, 400, /reason/],
    ['a comment on a case that does not exist', '/api/cases/nope/comments', { type: 'user', comment: 'c', owner: 'securitySolution' }, {}, 404, /not found/],
    ['an unknown path', '/api/case', GOOD_CASE, {}, 404, /Not Found/],
  ])('%s', async (_what, path, body, headers: Record<string, string | undefined>, status, message) => {
    const response = await post(path, body, headers);
    expect(response.status).toBe(status);
    const answer = (await response.json()) as { statusCode: number; error: string; message: string };
    expect(answer).toMatchObject({ statusCode: status, error: expect.any(String) });
    expect(answer.message).toMatch(message);
    expect(kibana.cases).toEqual([]);
    expect(kibana.statusUpdates).toEqual([]);
  });

  it('refuses an alert attachment without rule, and a comment whose owner differs from the case', async () => {
    const created = (await (await post('/api/cases', GOOD_CASE)).json()) as { id: string };
    const attach = await post(`/api/cases/${created.id}/comments`, { type: 'alert', alertId: ALERT, index: '.alerts-security.alerts-default', owner: 'securitySolution' });
    expect(attach.status).toBe(400);
    const owner = await post(`/api/cases/${created.id}/comments`, { type: 'user', comment: 'c', owner: 'observability' });
    expect(owner.status).toBe(400);
    expect(kibana.cases[0]!.comments).toEqual([]);
  });
});

describe('KibanaClient', () => {
  it('gives a close reason when it closes an alert, and never with another status', async () => {
    const kb = client();
    await kb.setAlertStatus([ALERT], 'closed', 'true_positive');
    await kb.setAlertStatus([ALERT], 'acknowledged', 'true_positive');
    await kb.setAlertStatus([ALERT], 'closed');
    expect(kibana.statusUpdates).toEqual([
      { space: 'default', signal_ids: [ALERT], status: 'closed', reason: 'true_positive' },
      { space: 'default', signal_ids: [ALERT], status: 'acknowledged' },
      { space: 'default', signal_ids: [ALERT], status: 'closed' },
    ]);
    // What was sent, as the audit trail records it.
    const sent = exchanges.flatMap((exchange) => (exchange.phase === 'sending' ? [exchange.body as { reason?: string }] : []));
    expect(sent.map((body) => body.reason)).toEqual(['true_positive', undefined, undefined]);
  });

  it('opens a case, attaches the alert, comments and sets the status with every required field', async () => {
    const kb = client();
    const opened = await kb.createCase({ title: 'c3pool_miner.service on web-01', description: 'what happened', tags: ['soar', 'mining-service', 'malicious'] });
    expect(opened).toEqual({ id: kibana.cases[0]!.id, version: expect.any(String) });
    const attached = await kb.attachAlert(opened.id, { alertId: ALERT, index: '.internal.alerts-security.alerts-default-000001', rule: { id: 'rule-so-id', name: 'Suspicious Mining Process Creation Event' } });
    const commented = await kb.addComment(opened.id, 'the timeline');
    expect(commented.version).not.toBe(attached.version);
    expect(await kb.setAlertStatus([ALERT], 'closed')).toEqual({ updated: 1 });

    const [stored] = kibana.cases;
    expect(stored).toMatchObject({ space: 'default', tags: ['soar', 'mining-service', 'malicious'], owner: 'securitySolution', settings: { syncAlerts: true } });
    expect(stored!.comments).toEqual([
      expect.objectContaining({ type: 'alert', alertId: ALERT, index: '.internal.alerts-security.alerts-default-000001', rule: { id: 'rule-so-id', name: 'Suspicious Mining Process Creation Event' }, owner: 'securitySolution' }),
      expect.objectContaining({ type: 'user', comment: 'the timeline', owner: 'securitySolution' }),
    ]);
    expect(kibana.statusUpdates).toEqual([{ space: 'default', signal_ids: [ALERT], status: 'closed' }]);
    expect(kibana.requests.map((request) => `${request.path} ${request.status}`)).toEqual([
      '/api/cases 200',
      `/api/cases/${opened.id}/comments 200`,
      `/api/cases/${opened.id}/comments 200`,
      '/api/detection_engine/signals/status 200',
    ]);
    // The audit sees bodies and answers, never the Authorization header.
    expect(JSON.stringify(exchanges)).not.toContain(AUTH);
    expect(exchanges.map((exchange) => exchange.phase)).toEqual(['sending', 'returned', 'sending', 'returned', 'sending', 'returned', 'sending', 'returned']);
  });

  it('talks to a space under /s/<space>/', async () => {
    const kb = client({ space: 'soc-team' });
    const opened = await kb.createCase({ title: 't', description: 'd', tags: [] });
    await kb.setAlertStatus([ALERT], 'acknowledged');
    expect(kibana.requests.map((request) => request.path)).toEqual(['/s/soc-team/api/cases', '/s/soc-team/api/detection_engine/signals/status']);
    expect(kibana.cases[0]!.space).toBe('soc-team');
    await expect(client().addComment(opened.id, 'from the wrong space')).rejects.toThrow(KibanaRefusedError);
  });

  it('retries 503 and 429, honouring Retry-After', async () => {
    kibana.failNext(2, 429, '1');
    const started = Date.now();
    await client().setAlertStatus([ALERT], 'closed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(kibana.requests.map((request) => request.status)).toEqual([429, 429, 200]);
    kibana.failNext(1, 503);
    await client().createCase({ title: 't', description: 'd', tags: [] });
    expect(kibana.requests.map((request) => request.status).slice(3)).toEqual([503, 200]);
    expect(kibana.cases).toHaveLength(1);
  });

  it('gives up after its attempts, retryable, so the playbook step retries later', async () => {
    kibana.failNext(5, 503);
    const error = await client().createCase({ title: 't', description: 'd', tags: [] }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(KibanaUnavailableError);
    expect(error).toMatchObject({ code: 'KIBANA_UNAVAILABLE', retryable: true, status: 503 });
    expect(kibana.requests).toHaveLength(3);
  });

  it('does not wait beyond its bound: a long Retry-After is left to the playbook step', async () => {
    kibana.failNext(1, 429, '3600');
    const started = Date.now();
    await expect(client().setAlertStatus([ALERT], 'closed')).rejects.toMatchObject({ code: 'KIBANA_UNAVAILABLE', retryAfterMs: 3_600_000 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(kibana.requests).toHaveLength(1);
  });

  it('does not retry a permanent refusal, and says what to fix', async () => {
    const error = await client({ authorization: 'ApiKey d3Jvbmc=' }).createCase({ title: 't', description: 'd', tags: [] }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(KibanaRefusedError);
    expect(error).toMatchObject({ code: 'KIBANA_REFUSED', retryable: false, status: 401 });
    expect((error as Error).message).toMatch(/unable to authenticate user.*escalation\.kibana\.auth/);
    expect(kibana.requests).toHaveLength(1);
    await expect(client().createCase({ title: 'x'.repeat(161), description: 'd', tags: [] })).rejects.toThrow(/maximum length is 160/);
    expect(kibana.requests).toHaveLength(2);
  });

  it('treats no answer as retryable, and will not put a hostile case id in a URL', async () => {
    await kibana.close();
    await expect(client({ retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 100 } }).setAlertStatus([ALERT], 'closed')).rejects.toMatchObject({ code: 'KIBANA_UNAVAILABLE', retryable: true });
    expect(exchanges.filter((exchange) => exchange.phase === 'failed')).toHaveLength(2);
    kibana = await startFakeKibana({ authorization: AUTH });
    await expect(client().addComment('../../api/detection_engine/signals/status', 'x')).rejects.toThrow(KibanaReplyError);
    expect(kibana.requests).toEqual([]);
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('5')).toBe(5_000);
    expect(retryAfterMs(new Date(1_000_000 + 30_000).toUTCString(), 1_000_000)).toBe(30_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('does not send a case twice after a lost answer: the case is found by its tag instead', async () => {
    kibana.loseAnswers(1);
    await expect(client().createCase({ title: 't', description: 'd', tags: ['soar-run-0123456789abcdef'] })).rejects.toMatchObject({ code: 'KIBANA_UNAVAILABLE', retryable: true });
    expect(kibana.requests).toEqual([{ method: 'POST', path: '/api/cases', status: 0 }]);
    expect(kibana.cases).toHaveLength(1);
    expect(await client().findCaseByTag('soar-run-0123456789abcdef')).toEqual({ id: kibana.cases[0]!.id, version: kibana.cases[0]!.version });
    expect(await client().findCaseByTag('soar-run-ffffffffffffffff')).toBeUndefined();
    expect(await client({ space: 'other' }).findCaseByTag('soar-run-0123456789abcdef')).toBeUndefined();
  });
});
