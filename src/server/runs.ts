import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as z from 'zod';
import { recordDecision } from '../approvals/decide.js';
import { buildAuditReport } from '../audit/report.js';
import { chainReport, readVerifiedTrailInTurns, requireRecords } from '../audit/verified-trail.js';
import type { Config } from '../config/config.js';
import { pendingApprovals, runReport } from '../engine/report.js';
import type { Runtime } from '../engine/runtime.js';
import { SHA256_HEX } from '../grammar.js';
import { RUN_STATES } from '../store/store.js';
import { analystOfToken, bearerToken } from './credentials.js';
import { HttpRefusal } from './http-error.js';
import type { Scheduler } from './scheduler.js';

export interface RunsOptions {
  config: Config;
  runtime: Runtime;
  scheduler: Scheduler;
  auditKey: Buffer | undefined;
}

const decisionBody = z.strictObject({
  reason: z.string().trim().min(1, 'say why').max(2000),
  /** The hash of the step the analyst reviewed (GET /api/runs/:id shows it): a decision binds to it. */
  stepHash: z.string().regex(SHA256_HEX, '64 lowercase hex digits: the step hash shown with the pending approval'),
});

/** Filters of GET /api/runs: a busy service holds thousands of runs, and the console asks for the newest. */
const listQuery = z.strictObject({
  status: z.enum(RUN_STATES).optional(),
  limit: z.string().regex(/^[1-9]\d{0,5}$/, 'a whole number from 1 to 999999').transform(Number).optional(),
});

type RunParams = { id: string };
type StepParams = { id: string; step: string };

/** Runs, their pending approvals and audit export, and analysts' decisions; every route needs an analyst's token. */
export function runsRoutes(app: FastifyInstance, options: RunsOptions): void {
  const { config, runtime, scheduler } = options;
  const { store } = runtime;
  const analystOf = (request: FastifyRequest): string => {
    const token = bearerToken(request.headers.authorization);
    const analyst = token === undefined ? undefined : analystOfToken(config, token);
    if (analyst === undefined) throw new HttpRefusal(401, 'ANALYST_UNAUTHENTICATED', 'send Authorization: Bearer <your API token> (its sha256 is approvers.<you>.token_sha256 in the config)');
    return analyst;
  };

  app.get('/api/runs', async (request) => {
    analystOf(request);
    const query = listQuery.safeParse(request.query);
    if (!query.success) {
      const issue = query.error.issues[0]!;
      const field = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.');
      throw new HttpRefusal(400, 'QUERY_INVALID', `query.${field}: ${issue.message}; GET /api/runs takes status (${RUN_STATES.join(', ')}) and limit, e.g. ?status=active&limit=200`);
    }
    return store.runSummaries(query.data);
  });

  app.get<{ Params: RunParams }>('/api/runs/:id', async (request) => {
    analystOf(request);
    const run = runtime.run(request.params.id);
    const pending = pendingApprovals(store, run);
    const records = store.auditRecords(run.id);
    const joined = records.filter((record) => record.kind === 'alert.joined').map((record) => ({ at: record.time, ...(record.data as object) }));
    // Held (run.held) while the run it waits for is still active.
    const held = records.find((record) => record.kind === 'run.held')?.data as { behind: string } | undefined;
    const heldBehind = held && run.status === 'active' && store.run(held.behind)?.status === 'active' ? held.behind : undefined;
    // The last record's seq tells a poller (the console) whether the audit export, which verifies the whole trail, is worth asking for again.
    return { ...runReport(store, run.id), state: run.snapshot.value, planHash: run.planHash, pending, joined, heldBehind, lastSeq: records.at(-1)?.seq ?? null };
  });

  app.get<{ Params: RunParams }>('/api/runs/:id/audit', async (request) => {
    analystOf(request);
    const run = runtime.run(request.params.id).id;
    const trail = await readVerifiedTrailInTurns(store.file, options.auditKey);
    const records = requireRecords(trail, run);
    return { ...buildAuditReport(run, records, chainReport(trail, run), new Date()), store: trail.store, records };
  });

  for (const decision of ['approve', 'deny'] as const) {
    app.post<{ Params: StepParams }>(`/api/runs/:id/steps/:step/${decision}`, async (request) => {
      const { id, step } = request.params;
      let analyst: string;
      try {
        analyst = analystOf(request);
      } catch (error) {
        auditRefusal(runtime, id, 'unknown', { step, decision, why: (error as Error).message });
        throw error;
      }
      const body = decisionBody.safeParse(request.body);
      if (!body.success) {
        const issue = body.error.issues[0]!;
        const why = `body.${issue.path.join('.')}: ${issue.message}`;
        auditRefusal(runtime, id, analyst, { step, decision, why });
        throw new HttpRefusal(400, 'DECISION_INVALID', `${why}; send {"reason": "...", "stepHash": "<step hash>"}`);
      }
      const outcome = recordDecision(runtime, config, { run: id, step, analyst, decision, reason: body.data.reason, stepHash: body.data.stepHash });
      if (outcome !== 'counted') scheduler.wake(id);
      return { run: id, step, analyst, outcome };
    });
  }
}

/** A decision refused before recordDecision could judge it is audited on the run it names (if there is one). */
function auditRefusal(runtime: Runtime, run: string, actor: string, data: object): void {
  if (!runtime.store.run(run)) return;
  runtime.store.transaction(() => runtime.audit(run, 'approval.refused', data, actor));
}
