import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU time used during a measurement: by the calling thread (the server's event loop) and by the whole process. */
export interface CpuUsed {
  threadMs: number;
  processMs: number;
}

let ticksPerSecond: number | undefined;

/** The calling thread's user + system CPU so far, from /proc/thread-self/stat (clock ticks, 10 ms on most kernels). */
function threadCpuMs(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Starts counting; the function returned gives the CPU used since. */
export function cpuMeter(): () => CpuUsed {
  const thread = threadCpuMs();
  const whole = processCpuMs();
  return () => ({ threadMs: threadCpuMs() - thread, processMs: processCpuMs() - whole });
}
