import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * vitest globalSetup: every test file's temporary directories go under one directory for the
 * whole run (TMPDIR is inherited by the workers), removed when the run ends, so tests that keep
 * their stores and configs to the end of the file leave nothing behind.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'soar-tests-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return async () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    await rm(dir, { recursive: true, force: true });
  };
}
