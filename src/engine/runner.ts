import type { ApprovalDesk, ApprovalRequest } from '../approvals/approval.js';
import { recordDecision } from '../approvals/decide.js';
import type { Config } from '../config/config.js';
import type { ApprovalRow, LeaseRow } from '../store/store.js';
import type { Runtime } from './runtime.js';

export interface RunnerOptions {
  config: Config;
  /** Where gates get decisions in this process; without one, decisions come from soar approve. */
  desk?: ApprovalDesk;
  /** Told once per gate that waits for a decision from elsewhere. */
  onWaiting?: (approval: ApprovalRow) => void;
  /** Told once when another process drives the run, or acts on its host: this one waits until it lets go. */
  onBusy?: (holder: LeaseRow) => void;
  /** How often to look for decisions made by other processes. */
  pollMs?: number;
}

/**
 * Drives one run to its end in this process: carries out its intents, asks the desk at each
 * gate (or waits for soar approve / deny from another process), sleeps until its next deadline.
 * The run is claimed for the whole time (gates included); while another process drives it, this
 * one waits for it to let go.
 */
export async function runToEnd(runtime: Runtime, runId: string, options: RunnerOptions): Promise<string> {
  const asked = new Set<number>();
  const pollMs = options.pollMs ?? 1000;
  let toldBusy = false;
  const waitFor = async (holder: LeaseRow | undefined) => {
    if (holder && !toldBusy) options.onBusy?.(holder);
    toldBusy ||= holder !== undefined;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  };
  try {
    for (;;) {
      const holder = runtime.claim(runId);
      if (holder) {
        await waitFor(holder);
        continue;
      }
      const state = await runtime.drive(runId);
      // busy: another process acts on the run's host, or took the run over (this one stalled past its claim).
      if (state === 'busy') {
        await waitFor(runtime.busyWith(runId));
        continue;
      }
      if (state !== 'waiting') return state;
      await waitForDecision(runtime, runId, options, asked, pollMs);
    }
  } finally {
    runtime.letGo(runId);
  }
}

/** Asks the desk about new gates (or tells onWaiting), then sleeps until a decision may have come or a deadline falls due. */
async function waitForDecision(runtime: Runtime, runId: string, options: RunnerOptions, asked: Set<number>, pollMs: number): Promise<void> {
  const pending = runtime.store.approvals({ run: runId, state: 'pending' }).filter((approval) => !asked.has(approval.id));
  for (const approval of pending) {
    asked.add(approval.id);
    if (options.desk) await askDesk(runtime, options, options.desk, approval);
    else options.onWaiting?.(approval);
  }
  // The desk decided: drive on at once.
  if (pending.length > 0 && options.desk) return;
  const next = runtime.store.nextDeadline(runId);
  const wait = Math.max(10, Math.min(pollMs, next === undefined ? pollMs : next - Date.now()));
  await new Promise((resolve) => setTimeout(resolve, wait));
}

async function askDesk(runtime: Runtime, options: RunnerOptions, desk: ApprovalDesk, approval: ApprovalRow): Promise<void> {
  const run = runtime.run(approval.run);
  const step = run.plan.steps.find((planned) => planned.id === approval.step)!;
  const request: ApprovalRequest = { runId: run.id, step, stepHash: approval.stepHash, count: approval.count, roles: approval.roles, expiresAt: new Date(approval.expiresAt) };
  const decision = await desk.decide(request);
  const base = { run: run.id, step: step.id, stepHash: approval.stepHash };
  if (decision.kind === 'approved') {
    for (const vote of decision.votes) recordDecision(runtime, options.config, { ...base, analyst: vote.analyst, decision: 'approve', reason: vote.reason });
  } else if (decision.kind === 'denied') {
    recordDecision(runtime, options.config, { ...base, analyst: decision.analyst, decision: 'deny', reason: decision.reason });
  }
  // Expired: nothing to record here; the stored deadline fires and the machine escalates.
}
