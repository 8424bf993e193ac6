import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { remoteInvocation } from '../../../src/command/remote.js';

describe('remoteInvocation', () => {
  it('wraps a root command in timeout -k with whole seconds, rounded up', () => {
    const invocation = remoteInvocation({ argv: ['systemctl', 'show', 'c3pool_miner.service'], timeoutMs: 1500 }, 'root');
    expect(invocation.line).toBe('timeout -k 5 2 systemctl show c3pool_miner.service');
    expect(invocation.limitMs).toBe(2000);
    expect(invocation.deadlineMs).toBe(10_000);
  });

  it('runs a non-root user through sudo -n, which never prompts', () => {
    expect(remoteInvocation({ argv: ['true'], timeoutMs: 30_000 }, 'analyst').line).toBe('sudo -n -- timeout -k 5 30 true');
  });

  it('never goes below one second', () => {
    expect(remoteInvocation({ argv: ['true'], timeoutMs: 1 }, 'root').line).toBe('timeout -k 5 1 true');
  });

  it('quotes hostile arguments so that a real sh hands them over byte for byte', async () => {
    const hostile = ["'; rm -rf / #", '$(id)', '`id`', 'a b\tc\nd', '', '-n', '*', '\\', '"', 'é€😀'];
    const { line } = remoteInvocation({ argv: ['printf', '%s\\0', ...hostile], timeoutMs: 5000 }, 'root');
    const { stdout } = await execa('sh', ['-c', line], { stripFinalNewline: false });
    expect(stdout.split('\0').slice(0, -1)).toEqual(hostile);
  });
});
