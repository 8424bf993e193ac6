/**
 * Fault injection for crash tests: SOAR_FAULT=<audit kind>#<n>[@<ms>] kills this process with
 * SIGKILL right after the n-th record of that kind is committed (or that many ms later, to land
 * in the middle of a remote command). Unset in production: a no-op.
 */
const spec = /^([a-z.]+)#(\d+)(?:@(\d+))?$/.exec(process.env.SOAR_FAULT ?? '');
let seen = 0;

export function faultPoint(kind: string): void {
  if (!spec || kind !== spec[1]) return;
  seen += 1;
  if (seen !== Number(spec[2])) return;
  const kill = () => process.kill(process.pid, 'SIGKILL');
  if (spec[3] === undefined) kill();
  else setTimeout(kill, Number(spec[3]));
}
