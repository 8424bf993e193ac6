import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../../src/actions/registry.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { DEFAULT_PLAYBOOK } from '../../../src/cli/defaults.js';
import { defaultConfig } from '../../../src/config/config.js';
import { buildCase, type SocCase } from '../../../src/escalation/case.js';
import { alertAttachment, alertStatusAfter, caseBody, fenced, timelineComment } from '../../../src/kibana/case-body.js';
import { KibanaClient } from '../../../src/kibana/client.js';
import { deliverToKibana } from '../../../src/kibana/escalation.js';
import { buildPlan } from '../../../src/plan/plan.js';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { exampleHit } from '../alert/example.js';
import { startFakeKibana, type FakeKibana } from '../../support/kibana-server.js';

const AUTH = 'Basic c29hcjpzb2Fy';

async function socCase(change: (hit: ReturnType<typeof exampleHit>) => void = () => {}, escalated = false): Promise<SocCase> {
  const hit = exampleHit();
  change(hit);
  const plan = buildPlan({ alert: parseAlerts(hit)[0]!, playbook: await loadPlaybook(DEFAULT_PLAYBOOK, ACTIONS), config: defaultConfig(), actions: ACTIONS });
  const context = {
    outcomes: { triage: 'malicious', remove: 'quarantined' },
    attempts: { triage: 1, remove: 1 },
    failures: {},
    escalation: escalated ? { reason: 'approval_denied', step: 'kill' } : undefined,
  };
  return buildCase(plan, context as unknown as Parameters<typeof buildCase>[1], new Map(), 'high');
}

let kibana: FakeKibana;
beforeEach(async () => {
  kibana = await startFakeKibana({ authorization: AUTH });
});
afterEach(() => kibana.close());

describe('what soar puts in a Kibana case', () => {
  it('fences hostile text so it cannot become markup: the fence outgrows any backticks inside', () => {
    const text = 'rule ```` [click](http://evil.example) <img src=x>';
    const shown = fenced(text);
    expect(shown.startsWith('`````text\n')).toBe(true);
    expect(shown.endsWith('\n`````')).toBe(true);
    expect(fenced('plain')).toBe('```text\nplain\n```');
  });

  it('host-provided text in a step summary stays one line inside the fence', async () => {
    const soc = await socCase();
    const hostile = { ...soc, steps: [{ id: 'triage', action: 'triage', outcome: 'malicious', attempts: 1, summary: 'unit ```\n# Closed: false positive\n[ok](http://evil.example)' }] };
    const { description } = caseBody(hostile);
    expect(description.startsWith('````text\n')).toBe(true);
    expect(description.split('\n').filter((line) => line.startsWith('#'))).toEqual([]);
    expect(description).toContain('unit ```\\n# Closed');
  });

  it('tags soar, the playbook and the verdict; closed when the run ran its course, acknowledged when it escalated', async () => {
    const soc = await socCase();
    expect(caseBody(soc).tags).toEqual(['soar', 'mining-service', 'malicious', `soar-${soc.runId}`]);
    expect(alertStatusAfter(soc)).toBe('closed');
    expect(alertStatusAfter(await socCase(undefined, true))).toBe('acknowledged');
  });

  it('closes a contained run\'s alert with the configured reason; an escalated one is acknowledged, with none', async () => {
    process.env.SOAR_TEST_CASE_AUTH = AUTH;
    const kibanaConfig = { url: kibana.url, auth: { env: 'SOAR_TEST_CASE_AUTH' }, close_reason: 'true_positive' as const };
    for (const escalated of [false, true]) {
      const delivery = { config: defaultConfig(), kibana: kibanaConfig, soc: await socCase(undefined, escalated), records: [], timeoutMs: 5_000, observe: () => {}, acknowledge: () => {} };
      await deliverToKibana('status', delivery);
    }
    expect(kibana.statusUpdates.map(({ status, reason }) => ({ status, reason }))).toEqual([
      { status: 'closed', reason: 'true_positive' },
      { status: 'acknowledged', reason: undefined },
    ]);
  });

  it('a timeline longer than Kibana allows is cut at a line and says where the rest is; Kibana accepts it', async () => {
    const soc = await socCase();
    const timeline = Array.from({ length: 2_000 }, (_, seq) => `${seq}  2026-01-01T00:00:00Z  soar  triage  ${'x'.repeat(40)}`).join('\n');
    const comment = timelineComment(soc, timeline);
    expect(comment.length).toBeLessThanOrEqual(30_000);
    expect(comment).toMatch(new RegExp(`… \\d+ more line\\(s\\): soar audit show ${soc.runId}\\n\`\`\`$`));
    const client = new KibanaClient({ url: kibana.url, authorization: AUTH, timeoutMs: 5_000 });
    const opened = await client.createCase(caseBody({ ...soc, title: 't'.repeat(500) }));
    await client.addComment(opened.id, comment);
    expect(kibana.cases[0]!.title).toHaveLength(160);
    expect(kibana.cases[0]!.comments).toHaveLength(1);
  });

  it('attaches the alert by its uuid, index and rule; a missing or malformed index is skipped with what to set', async () => {
    const soc = await socCase();
    expect(alertAttachment(soc, undefined)).toEqual({ alertId: soc.alert.id, index: '.internal.alerts-security.alerts-default-000001', rule: { id: '5d1c3b0e-0a1b-11ef-9a3e-1d2c3b4a5f60', name: 'Suspicious Mining Process Creation Event' } });
    expect(alertAttachment({ ...soc, alert: { ...soc.alert, index: undefined } }, undefined)).toEqual({ skipped: expect.stringMatching(/set escalation\.kibana\.alert_index/) });
    expect(alertAttachment({ ...soc, alert: { ...soc.alert, index: 'Alerts/../x' } }, undefined)).toEqual({ skipped: expect.stringMatching(/not an index name/) });
    expect(alertAttachment({ ...soc, alert: { ...soc.alert, index: undefined } }, '.alerts-security.alerts-soc')).toMatchObject({ index: '.alerts-security.alerts-soc' });
  });
});
