import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/config.js';
import { startFakeKibana, type FakeKibana } from '../../support/kibana-server.js';
import { until } from '../../support/until.js';
import { gatedPlaybook, hostName, INTAKE_SECRET, kibanaBody, noHosts, openService, post, serviceConfig, type Service } from './service.js';

const AUTH = 'ApiKey c29hcjp0ZXN0LWtleQ==';
const open: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function serviceWithKibana(kibana: FakeKibana): Promise<Service> {
  process.env.SOAR_TEST_KIBANA_AUTH = AUTH;
  const base = serviceConfig(2);
  const config: Config = { ...base, escalation: { ...base.escalation, kibana: { url: kibana.url, auth: { env: 'SOAR_TEST_KIBANA_AUTH' } } } };
  const dir = mkdtempSync(join(tmpdir(), 'soar-serve-ack-'));
  const service = await openService({ file: join(dir, 'soar.db'), config, playbook: await gatedPlaybook(dir), hosts: noHosts });
  open.push(service);
  return service;
}

const kinds = (service: Service, run: string) => service.store.auditRecords(run).map((record) => record.kind);

describe('a new incident from Kibana', () => {
  it('is acknowledged in Kibana (in progress) and audited; a duplicate is not acknowledged again', async () => {
    const kibana = await startFakeKibana({ authorization: AUTH });
    open.push(kibana);
    const service = await serviceWithKibana(kibana);
    const uuid = 'a'.repeat(64);
    const first = await post(`${service.url}/api/alerts`, kibanaBody([{ uuid, host: hostName(0) }]), { 'x-soar-secret': INTAKE_SECRET });
    expect(first.status).toBe(202);
    const run = first.body.runs[0].run as string;
    await until('the acknowledgement', () => kinds(service, run).includes('kibana.acknowledged'));
    expect(kibana.statusUpdates).toEqual([expect.objectContaining({ signal_ids: [uuid], status: 'acknowledged' })]);
    const again = await post(`${service.url}/api/alerts`, kibanaBody([{ uuid, host: hostName(0) }]), { 'x-soar-secret': INTAKE_SECRET });
    expect(again.body.runs[0]).toMatchObject({ run, created: false });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(kibana.statusUpdates).toHaveLength(1);
  });

  it('is still taken when Kibana is down, and the failure is in the run trail', async () => {
    const kibana = await startFakeKibana({ authorization: AUTH });
    const service = await serviceWithKibana(kibana);
    await kibana.close();
    const answer = await post(`${service.url}/api/alerts`, kibanaBody([{ uuid: 'b'.repeat(64), host: hostName(1) }]), { 'x-soar-secret': INTAKE_SECRET });
    expect(answer.status).toBe(202);
    const run = answer.body.runs[0].run as string;
    await until('the failed acknowledgement', () => kinds(service, run).includes('kibana.failed'));
    expect(kinds(service, run)).not.toContain('kibana.acknowledged');
  });
});
