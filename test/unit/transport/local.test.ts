import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandKilledError, CommandTimeoutError, OutcomeUnknownError, requireExit, SpawnFailedError } from '../../../src/transport/errors.js';
import { localTransport } from '../../../src/transport/local.js';
import { DEFAULT_OUTPUT_CAP_BYTES, TRUNCATION_MARKER } from '../../../src/transport/transport.js';

const local = localTransport();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'soar-local-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Whether a process still runs (a zombie waiting for its reaper has stopped running). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) [ZX]/s.test(stat);
}

describe('localTransport', () => {
  it('reports the exit status and keeps stdout and stderr apart', async () => {
    const result = await local.exec({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'], timeoutMs: 5000 });
    expect(result).toMatchObject({ exitCode: 3, signal: null, stdout: 'out\n', stderr: 'err\n', timedOut: false, outcomeUnknown: false, truncated: false });
    expect(result.command).toBe("sh -c 'echo out; echo err >&2; exit 3'");
    expect(Date.parse(result.startedAt)).not.toBeNaN();
  });

  it('reports death by a signal with no exit status', async () => {
    const result = await local.exec({ argv: ['sh', '-c', 'kill -USR1 $$'], timeoutMs: 5000 });
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGUSR1', timedOut: false });
    expect(() => requireExit(result)).toThrow(CommandKilledError);
  });

  it('feeds stdin, and gives a program without stdin an immediate end of file', async () => {
    const text = 'first line\né€😀\n'.repeat(50_000);
    const fed = await local.exec({ argv: ['sha256sum'], stdin: text, timeoutMs: 5000 });
    const expected = (await local.exec({ argv: ['sh', '-c', 'printf %s "$1" | sha256sum', 'sh', text.slice(0, 1000)], timeoutMs: 5000 })).stdout;
    expect(fed.stdout).toMatch(/^[0-9a-f]{64}  -\n$/);
    expect((await local.exec({ argv: ['sha256sum'], stdin: text.slice(0, 1000), timeoutMs: 5000 })).stdout).toBe(expected);
    const empty = await local.exec({ argv: ['cat'], timeoutMs: 5000 });
    expect(empty).toMatchObject({ exitCode: 0, stdout: '', timedOut: false });
  });

  it('drains 10 MB of output and keeps only the cap, with a marker', async () => {
    const result = await local.exec({ argv: ['sh', '-c', 'head -c 10485760 /dev/zero | tr "\\0" a; echo done >&2'], timeoutMs: 10_000 });
    expect(result).toMatchObject({ exitCode: 0, truncated: true, stderr: 'done\n' });
    expect(result.stdout).toBe('a'.repeat(DEFAULT_OUTPUT_CAP_BYTES) + TRUNCATION_MARKER);
  });

  it('honours a smaller cap', async () => {
    const result = await localTransport({ outputCapBytes: 3 }).exec({ argv: ['echo', 'hello'], timeoutMs: 5000 });
    expect(result.stdout).toBe(`hel${TRUNCATION_MARKER}`);
  });

  it('stops a program at its deadline, children included', async () => {
    const pidFile = join(dir, 'child.pid');
    const result = await local.exec({ argv: ['sh', '-c', 'sleep 30 & echo $! > "$1"; wait', 'sh', pidFile], timeoutMs: 300 });
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: true, outcomeUnknown: false });
    expect(result.durationMs).toBeGreaterThanOrEqual(300);
    expect(result.durationMs).toBeLessThan(3000);
    const child = Number(await readFile(pidFile, 'utf8'));
    await expect.poll(() => running(child), { timeout: 1000 }).toBe(false);
    expect(() => requireExit(result)).toThrow(CommandTimeoutError);
  });

  it('kills a program that ignores SIGTERM five seconds later', async () => {
    const result = await local.exec({ argv: ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'], timeoutMs: 200 });
    expect(result).toMatchObject({ signal: 'SIGKILL', timedOut: true, stdout: 'ready\n' });
    expect(result.durationMs).toBeGreaterThanOrEqual(5200);
    expect(result.durationMs).toBeLessThan(8000);
  }, 15_000);

  it('does not wait past the deadline for a process that left the group and holds the output', async () => {
    const pidFile = join(dir, 'escaped.pid');
    const script = 'setsid sh -c \'echo $$ > "$1"; exec sleep 30\' sh "$1" & echo started';
    const result = await local.exec({ argv: ['sh', '-c', script, 'sh', pidFile], timeoutMs: 200 });
    process.kill(Number(await readFile(pidFile, 'utf8')), 'SIGKILL');
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, stdout: 'started\n' });
    expect(result.durationMs).toBeGreaterThanOrEqual(5200);
    expect(result.durationMs).toBeLessThan(8000);
  }, 15_000);

  it('hands any argument over byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary' }).filter((arg) => !arg.includes('\0')), { minLength: 1, maxLength: 5 }), async (args) => {
        const result = await local.exec({ argv: ['printf', '%s\\0', ...args], timeoutMs: 5000 });
        expect(result.stdout.split('\0').slice(0, -1)).toEqual(args);
      }),
      { numRuns: 40 },
    );
  });

  it('throws a typed error when the program cannot start', async () => {
    await expect(local.exec({ argv: ['/nonexistent/soar-program'], timeoutMs: 1000 })).rejects.toBeInstanceOf(SpawnFailedError);
    await expect(local.exec({ argv: [], timeoutMs: 1000 })).rejects.toMatchObject({ code: 'SPAWN_FAILED' });
  });
});

describe('requireExit', () => {
  it('passes any exit status through, and refuses an unknown outcome', async () => {
    const result = await local.exec({ argv: ['false'], timeoutMs: 1000 });
    expect(requireExit(result).exitCode).toBe(1);
    const unknown = { ...result, exitCode: null, outcomeUnknown: true };
    expect(() => requireExit(unknown)).toThrow(OutcomeUnknownError);
  });
});
