/**
 * Intake benchmark: Kibana webhook alerts accepted per second by soar serve's parts on
 * 127.0.0.1, each admission committed to SQLite (synchronous FULL) before its 202, against a bare
 * fastify route that only parses the same JSON, interleaved round by round. Two body shapes: one
 * alert a request (a rule action run for each alert) and ten (a summary action's context.alerts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { ACTIONS } from '../src/actions/registry.js';
import { Runtime } from '../src/engine/runtime.js';
import { startService } from '../src/server/service.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { gatedPlaybook, INTAKE_SECRET, noHosts, serviceConfig } from '../test/unit/server/service.js';
import { cpuMeter, type CpuUsed } from './lib/cpu.js';
import { postConcurrently, type LoadResult } from './lib/load.js';
import { alertBody } from './lib/plans.js';
import { publish, type ResultRow } from './lib/report.js';
import { formatNumber, median, perSecond, ratio } from './lib/stats.js';

const ROUNDS = 3;
const ALERTS = Number(process.env.SOAR_BENCH_ALERTS ?? 5_000);
const CLIENTS = 32;
const ROUND_MS = 15_000;
const TARGET_PER_SECOND = 2_000;
/** Alerts a request: Kibana's per-alert actions send one; a summary action sends the run's alerts together. */
const SHAPES = [
  { per: 1, label: 'one alert a request' },
  { per: 10, label: 'Kibana summary action, 10 alerts a request' },
] as const;

/** A round's answers, and the CPU the process used meanwhile (its event loop's, and all its threads': clients, GC). */
interface Round {
  load: LoadResult;
  cpu: CpuUsed;
}

async function measured(load: () => Promise<LoadResult>): Promise<Round> {
  const used = cpuMeter();
  const result = await load();
  return { load: result, cpu: used() };
}

/** Requests answered 202. */
function accepted(result: LoadResult): number {
  return result.statuses[202] ?? 0;
}

function refusedAny(result: LoadResult): string | undefined {
  const others = Object.entries(result.statuses).filter(([status]) => status !== '202');
  return others.length > 0 ? others.map(([status, count]) => `${count}× ${status}`).join(', ') : undefined;
}

/** The floor: fastify parsing the same bodies and answering 202, nothing planned or stored. */
async function bareRound(bodies: readonly string[]): Promise<Round> {
  const config = serviceConfig(0);
  const app = Fastify({ logger: false, bodyLimit: config.server.body_limit });
  app.post('/api/alerts', async (request, reply) => reply.code(202).send({ parsed: typeof request.body === 'object' }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    return await measured(() => postConcurrently({ url: `${url}/api/alerts`, headers: {}, bodies, clients: CLIENTS, maxMs: ROUND_MS }));
  } finally {
    await app.close();
  }
}

/** soar serve as it starts (default scheduler tick), over a fresh store file; every alert of a 202 must be a stored run. */
async function soarRound(dir: string, round: string, bodies: readonly string[], per: number): Promise<Round> {
  const config = serviceConfig(ALERTS, {}, { queue_limit: 100_000 });
  const playbook = await gatedPlaybook(dir);
  const store = new SqliteStore(join(dir, `intake-${round}.db`));
  const runtime = new Runtime({ store, config, actions: ACTIONS, hosts: noHosts });
  const service = await startService({ config, runtime, playbook, intakeSecret: INTAKE_SECRET, auditKey: undefined, listen: { host: '127.0.0.1', port: 0 } });
  try {
    const result = await measured(() => postConcurrently({ url: `${service.url}/api/alerts`, headers: { 'x-soar-secret': INTAKE_SECRET }, bodies, clients: CLIENTS, maxMs: ROUND_MS }));
    const stored = store.runs().length;
    if (stored !== accepted(result.load) * per) throw new Error(`${accepted(result.load) * per} alerts got 202 but ${stored} runs are in the store`);
    return result;
  } finally {
    await service.stop(30_000);
    store.close();
  }
}

/** One round's rate, and the CPU each alert cost: on the server's event loop, and on all the process's threads. */
interface Sample {
  perSecond: number;
  threadUs: number;
  processUs: number;
}

function sampleOf({ load, cpu }: Round, per: number): Sample {
  const alerts = accepted(load) * per;
  return { perSecond: perSecond(alerts, load.elapsedMs), threadUs: (cpu.threadMs * 1000) / alerts, processUs: (cpu.processMs * 1000) / alerts };
}

function medianOf(samples: readonly Sample[], measure: keyof Sample): number {
  return median(samples.map((sample) => sample[measure]));
}

/** The table's rows for one body shape: the rates against bare, then what each alert cost in CPU and the ceilings that follow. */
function rowsFor(label: string, bare: readonly Sample[], soar: readonly Sample[]): ResultRow[] {
  const [bareRate, soarRate] = [medianOf(bare, 'perSecond'), medianOf(soar, 'perSecond')];
  const [bareThread, soarThread] = [medianOf(bare, 'threadUs'), medianOf(soar, 'threadUs')];
  const [bareProcess, soarProcess] = [medianOf(bare, 'processUs'), medianOf(soar, 'processUs')];
  const cores = availableParallelism();
  return [
    { measure: `bare fastify route (JSON parse only), ${label}`, median: `${formatNumber(bareRate)} alerts/s`, compared: 'baseline' },
    { measure: `soar serve POST /api/alerts (planned, stored, synchronous FULL), ${label}`, median: `${formatNumber(soarRate)} alerts/s`, compared: `${ratio(soarRate, bareRate)} of bare`, target: `≥ ${formatNumber(TARGET_PER_SECOND)}/s (${ratio(soarRate, TARGET_PER_SECOND)})` },
    {
      measure: `CPU an alert on the server's event loop, ${label}`,
      median: `soar ${formatNumber(soarThread)} µs, bare ${formatNumber(bareThread)} µs`,
      compared: `one loop's ceiling: ${formatNumber(1e6 / soarThread)} alerts/s`,
      target: `≤ ${formatNumber(1e6 / TARGET_PER_SECOND)} µs`,
    },
    {
      measure: `CPU an alert on all the process's threads (the loop, GC, the clients), ${label}`,
      median: `soar ${formatNumber(soarProcess)} µs, bare ${formatNumber(bareProcess)} µs`,
      compared: `${cores} cores' ceiling: ${formatNumber((cores * 1e6) / soarProcess)} alerts/s`,
    },
  ];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'soar-bench-intake-'));
  try {
    const bare: Sample[][] = SHAPES.map(() => []);
    const soar: Sample[][] = SHAPES.map(() => []);
    const problems: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [shape, { per, label }] of SHAPES.entries()) {
        // Fresh alerts every round: a repeat would be a duplicate, which soar answers without storing a run.
        const bodies = Array.from({ length: Math.ceil(ALERTS / per) }, (_, index) => JSON.stringify(alertBody(`intake ${round} ${per}`, index * per, per)));
        const floor = await bareRound(bodies);
        const served = await soarRound(dir, `${round}-${per}`, bodies, per);
        bare[shape]!.push(sampleOf(floor, per));
        soar[shape]!.push(sampleOf(served, per));
        for (const [name, result] of [['bare', floor], ['soar', served]] as const) {
          const refused = refusedAny(result.load);
          if (refused) problems.push(`round ${round + 1}, ${label}, ${name}: ${refused}`);
        }
        const [floorSample, soarSample] = [bare[shape]!.at(-1)!, soar[shape]!.at(-1)!];
        console.log(
          `round ${round + 1}, ${label}: bare ${formatNumber(floorSample.perSecond)} alerts/s, soar ${formatNumber(soarSample.perSecond)} alerts/s ` +
            `(${accepted(served.load) * per} accepted in ${formatNumber(served.load.elapsedMs / 1000, 1)} s; ${formatNumber(soarSample.threadUs)} µs an alert on the loop)`,
        );
      }
    }
    publish(
      'intake',
      SHAPES.flatMap(({ label }, shape) => rowsFor(label, bare[shape]!, soar[shape]!)),
      [
        `medians of ${ROUNDS} interleaved rounds; each round and shape: ${formatNumber(ALERTS)} unique alerts in Kibana webhook bodies (each alert on its own host: a new incident each, gated playbook), ${CLIENTS} keep-alive clients in a worker thread, at most ${ROUND_MS / 1000} s`,
        'CPU: user + system time over the round, of the event loop\'s thread (/proc/thread-self/stat, in clock ticks) and of the whole process (the clients\' worker and V8\'s GC threads too), divided by the alerts accepted. soar serves from one event loop: it cannot accept more alerts a second than that loop has CPU for.',
        ...(problems.length > 0 ? [`answers other than 202: ${problems.join('; ')}`] : []),
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
