/**
 * Engine benchmark (no I/O to hosts): pure transitions per second through the mining playbook's
 * happy path, the same transitions committed durably by the Runtime (SQLite, synchronous FULL),
 * and the memory 10,000 runs waiting at an approval gate hold in one Runtime and store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTIONS } from '../src/actions/registry.js';
import { DEFAULT_PLAYBOOK } from '../src/cli/defaults.js';
import { advanceRun, beginRun, type Transition } from '../src/engine/machine-steps.js';
import { Runtime } from '../src/engine/runtime.js';
import { compilePlaybook, type PlaybookMachine, type RunEvent } from '../src/playbook/compile.js';
import { loadPlaybook, type Playbook } from '../src/playbook/load.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { gatedPlaybook, noHosts, serviceConfig } from '../test/unit/server/service.js';
import { settledMemory } from './lib/memory.js';
import { planFor } from './lib/plans.js';
import { publish, type ResultRow } from './lib/report.js';
import { formatNumber, median, perSecond, ratio, rounds } from './lib/stats.js';

const ROUNDS = 5;
const PURE_RUNS = 2_000;
const DURABLE_RUNS = 40;
const WAITING_RUNS = Number(process.env.SOAR_BENCH_WAITING_RUNS ?? 10_000);
const MEMORY_TARGET_MB = 500;

/** What each action reports when everything goes as hoped, so the run takes the default route. */
const HAPPY_OUTCOMES: Record<string, string> = {
  triage: 'malicious',
  isolate: 'isolated',
  'kill-process': 'killed',
  'remove-unit': 'quarantined',
  scan: 'clean',
  escalate: 'delivered',
};

/** The events an analyst and the hosts send along the happy path, found by following the machine's own intents. */
function happyPath(machine: PlaybookMachine, playbook: Playbook): RunEvent[] {
  const events: RunEvent[] = [];
  let current: Transition = beginRun(machine);
  for (;;) {
    const intent = current.intents.find((candidate) => candidate.type === 'requestApproval' || candidate.type === 'runStep' || candidate.type === 'runFinished');
    if (!intent) throw new Error(`the happy path stalled in ${JSON.stringify(current.state)}`);
    if (intent.type === 'runFinished') {
      if (intent.params.status !== 'done') throw new Error(`the happy path ended ${intent.params.status}, not done`);
      return events;
    }
    const step = intent.params.step;
    const action = playbook.steps.find((candidate) => candidate.id === step)!.action;
    const event: RunEvent = intent.type === 'requestApproval' ? { type: 'APPROVE', step } : { type: 'STEP.OK', step, outcome: HAPPY_OUTCOMES[action]! };
    events.push(event);
    current = advanceRun(machine, current.snapshot, event);
  }
}

function pureTransitionsPerSecond(machine: PlaybookMachine, events: readonly RunEvent[]): number {
  const started = performance.now();
  for (let run = 0; run < PURE_RUNS; run += 1) {
    let snapshot = beginRun(machine).snapshot;
    for (const event of events) snapshot = advanceRun(machine, snapshot, event).snapshot;
    if (snapshot.status !== 'done') throw new Error(`a pure run ended ${snapshot.status}`);
  }
  return perSecond(PURE_RUNS * (events.length + 1), performance.now() - started);
}

/** Each run started and each event applied in its own committed transaction, as the runtime commits them. */
function durableCommitsPerSecond(dir: string, round: number, playbook: Playbook, events: readonly RunEvent[]): number {
  const config = serviceConfig(DURABLE_RUNS);
  const store = new SqliteStore(join(dir, `durable-${round}.db`));
  try {
    const runtime = new Runtime({ store, config, actions: ACTIONS, hosts: noHosts });
    const plans = Array.from({ length: DURABLE_RUNS }, (_, index) => planFor(`durable ${round}`, index, playbook, config));
    const started = performance.now();
    for (const plan of plans) {
      runtime.start(plan, playbook);
      for (const event of events) store.transaction(() => runtime.applyEvent(plan.runId, event));
    }
    const elapsed = performance.now() - started;
    if (store.runs({ status: 'done' }).length !== DURABLE_RUNS) throw new Error('not every durable run reached done');
    return perSecond(DURABLE_RUNS * (events.length + 1), elapsed);
  } finally {
    store.close();
  }
}

/** Starts WAITING_RUNS gated runs and drives each to its gate; the memory still held afterwards is theirs. */
async function memoryOfWaitingRuns(dir: string): Promise<{ perThousandRssMb: number; perThousandHeapMb: number; totalRssMb: number; seconds: number }> {
  const config = serviceConfig(WAITING_RUNS);
  const playbook = await gatedPlaybook(dir);
  const store = new SqliteStore(join(dir, 'waiting.db'));
  try {
    const runtime = new Runtime({ store, config, actions: ACTIONS, hosts: noHosts });
    const before = settledMemory();
    const started = performance.now();
    for (let index = 0; index < WAITING_RUNS; index += 1) {
      const { runId } = runtime.start(planFor('waiting', index, playbook, config), playbook);
      if ((await runtime.drive(runId)) !== 'waiting') throw new Error(`run ${runId} did not stop at its gate`);
    }
    const seconds = (performance.now() - started) / 1000;
    const after = settledMemory();
    if (store.approvals({ state: 'pending' }).length !== WAITING_RUNS) throw new Error('not every run waits for approval');
    return {
      perThousandRssMb: ((after.rssMb - before.rssMb) * 1000) / WAITING_RUNS,
      perThousandHeapMb: ((after.heapMb - before.heapMb) * 1000) / WAITING_RUNS,
      totalRssMb: after.rssMb,
      seconds,
    };
  } finally {
    store.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'soar-bench-engine-'));
  try {
    const playbook = await loadPlaybook(DEFAULT_PLAYBOOK, ACTIONS);
    const machine = compilePlaybook(playbook);
    const events = happyPath(machine, playbook);
    const pure = median(await rounds(ROUNDS, () => pureTransitionsPerSecond(machine, events), { warmUp: true }));
    const durable = median(await rounds(ROUNDS, (round) => durableCommitsPerSecond(dir, round, playbook, events)));
    const memory = await memoryOfWaitingRuns(dir);
    const perRun = events.length + 1;
    const rows: ResultRow[] = [
      { measure: `pure transitions (beginRun/advanceRun, ${perRun} per happy-path run)`, median: `${formatNumber(pure)}/s`, compared: 'baseline' },
      { measure: 'durable commits (Runtime + SqliteStore, synchronous FULL)', median: `${formatNumber(durable)}/s`, compared: `${ratio(durable, pure)} of pure` },
      { measure: `memory of runs waiting for approval (${formatNumber(WAITING_RUNS)} runs)`, median: `${formatNumber(memory.perThousandRssMb, 1)} MB RSS / 1,000 runs (heap ${formatNumber(memory.perThousandHeapMb, 1)} MB)`, compared: `process RSS ${formatNumber(memory.totalRssMb)} MB = ${ratio(memory.totalRssMb, MEMORY_TARGET_MB)} of target`, target: `10,000 runs < ${MEMORY_TARGET_MB} MB` },
    ];
    publish('engine', rows, [
      `medians of ${ROUNDS} rounds: ${formatNumber(PURE_RUNS)} pure runs and ${DURABLE_RUNS} durable runs per round; memory from one pass (${formatNumber(memory.seconds, 1)} s to start and gate ${formatNumber(WAITING_RUNS)} runs), after full GC`,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
