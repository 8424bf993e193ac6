import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SshFleet } from '../../../src/transport/ssh/fleet.js';
import { gatedPlaybook, get, hostName, INTAKE_SECRET, kibanaBody, openService, post, serviceConfig, TOKENS, type Service } from './service.js';

const ALERT = 'a1'.repeat(32);
let service: Service;
let run: string;
let stepHash: string;
let fleet: SshFleet;

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soar-serve-approvals-'));
  // The host's address is 127.0.0.1 port 1, where nothing listens: an opened gate meets a refused connection.
  writeFileSync(join(dir, 'known_hosts'), '');
  const config = { ...serviceConfig(1, { connect_timeout: 2000 }), baseDir: dir };
  fleet = new SshFleet(config);
  service = await openService({ file: join(dir, 'soar.db'), config, playbook: await gatedPlaybook(dir), hosts: fleet });
  const intake = await post(`${service.url}/api/alerts`, kibanaBody([{ uuid: ALERT, host: hostName(0) }]), { 'x-soar-secret': INTAKE_SECRET });
  expect(intake.status).toBe(202);
  run = intake.body.runs[0].run;
  // The run reaches its gate in its own task; the API shows the pending approval and its commands.
  for (let tries = 0; tries < 100; tries += 1) {
    const shown = await get(`${service.url}/api/runs/${run}`, { authorization: `Bearer ${TOKENS.carol}` });
    if (shown.body.pending?.length === 1) {
      expect(shown.body.pending[0]).toMatchObject({ step: 'triage', count: 2, roles: ['responder', 'lead'] });
      expect(shown.body.pending[0].commands.length).toBeGreaterThan(0);
      stepHash = shown.body.pending[0].stepHash;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the run never reached its gate');
});

afterEach(async () => {
  await service.close();
  await fleet.close();
});

const decide = (decision: 'approve' | 'deny', headers: Record<string, string>, body: unknown = { reason: 'INC-4411: miner confirmed', stepHash }) =>
  post(`${service.url}/api/runs/${run}/steps/triage/${decision}`, body, headers);
const as = (analyst: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[analyst]}` });
const refusals = () => service.store.auditRecords(run).filter((record) => record.kind === 'approval.refused').map((record) => ({ actor: record.actor, why: (record.data as { why: string }).why }));
const gate = () => service.store.approval(run, 'triage')!;

describe('approvals over HTTP', () => {
  it('refuses unauthenticated and wrong-token decisions (401), and audits them as by unknown', async () => {
    const lastSeq = async () => (await get(`${service.url}/api/runs/${run}`, as('carol'))).body.lastSeq as number;
    const before = await lastSeq();
    expect(before).toBe(service.store.auditRecords(run).at(-1)!.seq);
    const none = await decide('approve', {});
    const wrong = await decide('approve', { authorization: `Bearer ${TOKENS.alice}x` });
    const basic = await decide('approve', { authorization: `Basic ${Buffer.from('alice:x').toString('base64')}` });
    for (const reply of [none, wrong, basic]) expect(reply).toMatchObject({ status: 401, body: { error: { code: 'ANALYST_UNAUTHENTICATED' } } });
    expect(refusals()).toEqual([0, 1, 2].map(() => ({ actor: 'unknown', why: expect.stringContaining('Bearer') })));
    // The console asks for the audit export again when a run's last record changes: these refusals are its records.
    expect(await lastSeq()).toBe(service.store.auditRecords(run).at(-1)!.seq);
    expect(await lastSeq()).toBeGreaterThan(before);
    expect(service.store.votes(gate().id)).toEqual([]);
    expect((await get(`${service.url}/api/runs`)).status).toBe(401);
  });

  it('lists the runs, as many of the newest as asked and in one state, and refuses a query it cannot read, naming the field', async () => {
    const listed = await get(`${service.url}/api/runs?status=active&limit=5`, as('carol'));
    expect(listed).toMatchObject({ status: 200, body: { total: 1, runs: [{ run, status: 'active', host: hostName(0), unit: 'c3pool_miner.service', pending: ['triage'] }] } });
    expect((await get(`${service.url}/api/runs?status=done`, as('carol'))).body).toEqual({ runs: [], total: 0 });
    for (const [query, field] of [['limit=0', 'limit'], ['limit=5;drop', 'limit'], ['status=finished', 'status'], ['order=asc', 'order']] as const) {
      const refused = await get(`${service.url}/api/runs?${query}`, as('carol'));
      expect(refused).toMatchObject({ status: 400, body: { error: { code: 'QUERY_INVALID', message: expect.stringContaining(`query.${field}`) } } });
    }
  });

  it('refuses a decision bound to another step hash, and one by an analyst without the role (403, audited)', async () => {
    const stale = await decide('approve', as('alice'), { reason: 'looked', stepHash: '0'.repeat(64) });
    expect(stale).toMatchObject({ status: 403, body: { error: { code: 'APPROVAL_REFUSED', message: expect.stringMatching(/plan changed or the hash is wrong/) } } });
    const observer = await decide('approve', as('carol'));
    expect(observer).toMatchObject({ status: 403, body: { error: { message: expect.stringMatching(/carol \(roles observer\) may not approve/) } } });
    const malformed = await decide('approve', as('alice'), { reason: 'looked', stepHash: 'abc' });
    expect(malformed).toMatchObject({ status: 400, body: { error: { code: 'DECISION_INVALID', message: expect.stringMatching(/body\.stepHash/) } } });
    expect(refusals().map((refusal) => refusal.actor)).toEqual(['alice', 'carol', 'alice']);
    expect(gate().state).toBe('pending');
  });

  it('counts each analyst once, refuses a replay after the gate opened, and drives the approved run on', async () => {
    expect(await decide('approve', as('alice'))).toMatchObject({ status: 200, body: { outcome: 'counted', analyst: 'alice' } });
    const again = await decide('approve', as('alice'));
    expect(again).toMatchObject({ status: 403, body: { error: { message: expect.stringMatching(/alice has already decided .*one person counts once/) } } });
    expect(await decide('approve', as('bob'))).toMatchObject({ status: 200, body: { outcome: 'approved', analyst: 'bob' } });
    const replay = await decide('approve', as('bob'));
    expect(replay).toMatchObject({ status: 403, body: { error: { message: expect.stringMatching(/already approved: this decision comes too late or twice/) } } });
    expect(refusals().map((refusal) => refusal.actor)).toEqual(['alice', 'bob']);
    expect(service.store.votes(gate().id).map((vote) => vote.analyst)).toEqual(['alice', 'bob']);
    // The approval woke the run: triage was started on the host, and the refused connection recorded.
    const kinds = async () => {
      for (let tries = 0; tries < 200; tries += 1) {
        const seen = service.store.auditRecords(run).map((record) => record.kind);
        if (seen.includes('step.failed') || seen.includes('step.unknown')) return seen;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error('triage never ended');
    };
    expect(await kinds()).toEqual(expect.arrayContaining(['approval.granted', 'step.started']));
  });

  it('a denial escalates the run; its audit export lists every decision', async () => {
    expect(await decide('deny', as('bob'), { reason: 'maintenance window', stepHash })).toMatchObject({ status: 200, body: { outcome: 'denied' } });
    const exported = await get(`${service.url}/api/runs/${run}/audit`, as('carol'));
    expect(exported.status).toBe(200);
    expect(exported.body.records.map((record: { kind: string }) => record.kind)).toContain('approval.denied');
    expect(JSON.stringify(exported.body)).toContain('maintenance window');
    expect((await get(`${service.url}/api/runs/run-0000000000000000`, as('carol'))).status).toBe(404);
  });
});
