import type { PlannedCommand } from '../actions/action.js';
import type { AuditRecord } from '../audit/record.js';
import { renderTimeline, timelineOf } from '../audit/timeline.js';
import { readSecret, type Config } from '../config/config.js';
import { SoarError } from '../errors.js';
import type { SocCase } from '../escalation/case.js';
import type { ExecResult } from '../transport/transport.js';
import { alertAttachment, alertStatusAfter, caseBody, runTag, timelineComment } from './case-body.js';
import { KibanaClient, kibanaUrl, type KibanaClientOptions, type KibanaExchange } from './client.js';

export type KibanaConfig = NonNullable<Config['escalation']['kibana']>;

/** The requests an escalation to Kibana makes, in order; the plan shows each by its purpose. */
const REQUESTS = {
  case: { path: '/api/cases', purpose: 'open a Kibana case for the run, or find the one a lost answer opened (title, what happened, tags soar/playbook/verdict/run; no connector; alerts synced)' },
  alert: { path: '/api/cases/{case_id}/comments', purpose: "attach the alert to the Kibana case (kibana.alert.uuid, the alert's index, its rule)" },
  timeline: { path: '/api/cases/{case_id}/comments', purpose: "comment the run's timeline on the Kibana case" },
  status: { path: '/api/detection_engine/signals/status', purpose: "set the alert's status in Kibana: closed, or acknowledged when the run escalated (failure, denial, expiry)" },
} as const;

export type KibanaRequest = keyof typeof REQUESTS;

/** What an escalation to Kibana will send, for the plan (and so for the approval's hash). */
export function planKibanaRequests(kibana: KibanaConfig): PlannedCommand[] {
  return Object.values(REQUESTS).map(({ path, purpose }) => ({ purpose, where: 'http', request: { method: 'POST', url: kibanaUrl(kibana.url, kibana.space, path) } }));
}

/** Which Kibana request a planned command stands for, if any. */
export function kibanaRequestOf(planned: PlannedCommand): KibanaRequest | undefined {
  return (Object.keys(REQUESTS) as KibanaRequest[]).find((name) => REQUESTS[name].purpose === planned.purpose);
}

/** A client for the configured Kibana, its credential read only now (the intake may use it to acknowledge alerts). */
export async function openKibana(config: Config, kibana: KibanaConfig, options: Pick<KibanaClientOptions, 'timeoutMs' | 'observe' | 'retry'>): Promise<KibanaClient> {
  return new KibanaClient({ url: kibana.url, space: kibana.space, authorization: await readSecret(config, kibana.auth, 'escalation.kibana.auth'), ...options });
}

/** What Kibana acknowledged for a request of this run (recorded as `kibana.delivered`). */
export interface Delivered {
  request: KibanaRequest;
  caseId?: string;
  version?: string;
  updated?: number;
  skipped?: string;
}

export interface KibanaDelivery {
  config: Config;
  kibana: KibanaConfig;
  soc: SocCase;
  /** The run's audit trail so far: earlier acknowledgements, the case id, the timeline. */
  records: readonly AuditRecord[];
  timeoutMs: number;
  /** Records one exchange (before it is sent, and its answer) in the run's trail. */
  observe(request: KibanaRequest, exchange: KibanaExchange): void;
  /** Records what Kibana acknowledged, so a retried step never opens a second case or repeats a comment. */
  acknowledge(delivered: Delivered): void;
}

const delivered = (records: readonly AuditRecord[]) =>
  records.filter((record) => record.kind === 'kibana.delivered').map((record) => record.data as Delivered);

function answered(url: string, delivered: Delivered, startedAt: Date): ExecResult {
  return { command: `POST ${url}`, exitCode: 0, signal: null, stdout: JSON.stringify(delivered), stderr: '', truncated: false, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), timedOut: false, outcomeUnknown: false };
}

/**
 * Sends one of the escalation's Kibana requests, unless Kibana already acknowledged it for this
 * run: a step retried after the case was opened adds to that case rather than opening another.
 */
export async function deliverToKibana(request: KibanaRequest, delivery: KibanaDelivery): Promise<ExecResult> {
  const { kibana, soc, records } = delivery;
  const startedAt = new Date();
  const url = kibanaUrl(kibana.url, kibana.space, REQUESTS[request].path);
  const earlier = delivered(records);
  const done = earlier.find((entry) => entry.request === request);
  if (done) return answered(url, done, startedAt);

  const client = await openKibana(delivery.config, kibana, { timeoutMs: delivery.timeoutMs, observe: (exchange) => delivery.observe(request, exchange) });
  const caseId = () => {
    const opened = earlier.find((entry) => entry.request === 'case')?.caseId;
    if (opened === undefined) throw new SoarError('KIBANA_NO_CASE', `POST ${url}: no Kibana case was opened for this run before this request; start a new run`);
    return opened;
  };

  let outcome: Delivered;
  switch (request) {
    case 'case': {
      // Sent before without an acknowledgement: Kibana may have opened it and the answer been lost.
      const sentBefore = records.some((record) => record.kind === 'kibana.sending' && (record.data as { request?: string }).request === 'case');
      const opened = (sentBefore ? await client.findCaseByTag(runTag(soc.runId)) : undefined) ?? (await client.createCase(caseBody(soc)));
      outcome = { request, caseId: opened.id, version: opened.version };
      break;
    }
    case 'alert': {
      const attachment = alertAttachment(soc, kibana.alert_index);
      if ('skipped' in attachment) {
        outcome = { request, skipped: attachment.skipped };
        break;
      }
      const { id, version } = await client.attachAlert(caseId(), attachment);
      outcome = { request, caseId: id, version };
      break;
    }
    case 'timeline': {
      const comment = timelineComment(soc, renderTimeline(timelineOf(records)));
      const { id, version } = await client.addComment(caseId(), comment);
      outcome = { request, caseId: id, version };
      break;
    }
    case 'status': {
      const { updated } = await client.setAlertStatus([soc.alert.id], alertStatusAfter(soc), kibana.close_reason);
      outcome = { request, updated };
      break;
    }
  }
  delivery.acknowledge(outcome);
  return answered(url, outcome, startedAt);
}
