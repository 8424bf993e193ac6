import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { gatedPlaybook, hostName, INTAKE_SECRET, kibanaBody, noHosts, openService, post, serviceConfig, type Service } from './service.js';

const HOSTS = 100;
const ALERTS_PER_HOST = 5;
const POSTS = 1000;
const IN_FLIGHT = 50;

const uuid = (index: number) => createHash('sha256').update(`alert ${index}`).digest('hex');

it('a burst of 1,000 webhook posts (half duplicates, 100 hosts), with a restart halfway, yields each alert once and one incident per host', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soar-burst-'));
  const file = join(dir, 'soar.db');
  const config = serviceConfig(HOSTS);
  const playbook = await gatedPlaybook(dir);
  const unique = Array.from({ length: HOSTS * ALERTS_PER_HOST }, (_, index) => ({ uuid: uuid(index), host: hostName(index % HOSTS) }));
  // Every alert twice, in an order that spreads duplicates apart and across the restart.
  const posts = [...unique, ...unique].map((alert, index) => ({ alert, order: createHash('sha256').update(`${index}`).digest('hex') })).sort((a, b) => a.order.localeCompare(b.order)).map(({ alert }) => alert);
  expect(posts).toHaveLength(POSTS);

  const runOf = new Map<string, string>();
  const send = async (service: Service, batch: typeof posts) => {
    const replies = await Promise.all(batch.map((alert) => post(`${service.url}/api/alerts`, kibanaBody([alert]), { 'x-soar-secret': INTAKE_SECRET })));
    for (const [index, reply] of replies.entries()) {
      expect(reply.status, JSON.stringify(reply.body)).toBe(202);
      const [admitted] = reply.body.runs as Array<{ alert: string; run: string }>;
      const alert = batch[index]!.uuid;
      expect(admitted!.alert).toBe(alert);
      // A duplicate, before or after the restart, lands where its first copy did.
      expect(runOf.get(alert) ?? admitted!.run).toBe(admitted!.run);
      runOf.set(alert, admitted!.run);
    }
  };

  const started = Date.now();
  let service = await openService({ file, config, playbook, hosts: noHosts });
  for (let offset = 0; offset < POSTS; offset += IN_FLIGHT) {
    if (offset === POSTS / 2) {
      await service.close();
      service = await openService({ file, config, playbook, hosts: noHosts });
    }
    await send(service, posts.slice(offset, offset + IN_FLIGHT));
  }
  await service.close();
  const elapsed = Date.now() - started;

  const store = new SqliteStore(file);
  try {
    const runs = store.runs();
    expect(runs).toHaveLength(HOSTS);
    expect(new Set(runs.map((run) => run.host)).size).toBe(HOSTS);
    expect(runs.every((run) => run.status === 'active')).toBe(true);
    // Every run reached its gate: nothing was contacted, every run waits for a decision.
    expect(store.approvals({ state: 'pending' })).toHaveLength(HOSTS);
    const joined = store.auditRecords().filter((record) => record.kind === 'alert.joined');
    expect(joined).toHaveLength(HOSTS * (ALERTS_PER_HOST - 1));
    const recorded = [...runs.map((run) => run.alertId), ...joined.map((record) => (record.data as { alert: string }).alert)];
    expect(new Set(recorded).size).toBe(unique.length);
    expect(new Set(recorded)).toEqual(new Set(unique.map((alert) => alert.uuid)));
    // Each joined alert is recorded in the run of its own host.
    for (const record of joined) {
      const alert = unique.find((candidate) => candidate.uuid === (record.data as { alert: string }).alert)!;
      expect(store.run(record.run)!.host).toBe(alert.host);
    }
    expect(store.auditRecords().filter((record) => record.kind === 'run.started')).toHaveLength(HOSTS);
  } finally {
    store.close();
  }
  console.log(`burst: ${POSTS} posts, ${unique.length} unique alerts, ${HOSTS} hosts, restart halfway: ${elapsed} ms`);
});
