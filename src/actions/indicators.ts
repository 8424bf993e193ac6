/**
 * Public indicators of the miners this playbook responds to (DOMAIN.md: C3Pool and MoneroOcean
 * installers, Kinsing, TeamTNT, WatchDog, 8220 gang). Written by us from public write-ups.
 */

/** The unit names Elastic's rule "Suspicious Mining Process Creation Event" looks for. */
export const RULE_UNIT_NAMES = [
  'aliyun.service',
  'moneroocean_miner.service',
  'c3pool_miner.service',
  'pnsd.service',
  'apache4.service',
  'pastebin.service',
  'xvf.service',
] as const;

export const MINER_PROCESS_NAMES = [
  'xmrig',
  'xmrig-notls',
  'xmr-stak',
  'kdevtmpfsi',
  'kinsing',
  'phpupdate',
  'phpguard',
  'sysupdate',
  'sysguard',
  'networkservice',
  'kthreaddk',
  'dbusex',
  'pnscan',
  'masscan',
] as const;

export const POOL_PORTS = [
  80, 3333, 3347, 4444, 5555, 5790, 6666, 7777, 8444, 9999, 13333, 13531, 14433, 14444, 15555, 17777, 19999, 20580,
  23333, 45700,
] as const;

/** MoneroOcean's gulf.moneroocean.stream listens on this whole range. */
export const POOL_PORT_RANGES: ReadonlyArray<readonly [number, number]> = [[10001, 18192]];

export const POOL_DOMAINS = [
  'moneroocean.stream',
  'c3pool.com',
  'c3pool.org',
  'supportxmr.com',
  'nanopool.org',
  'minexmr.com',
  'herominers.com',
  'unmineable.com',
  'hashvault.pro',
  '2miners.com',
  'f2pool.com',
  'nicehash.com',
  'xmrpool.eu',
  'minergate.com',
  'crypto-pool.fr',
] as const;

/** Strings found in xmrig's binary and configuration. */
export const MINER_STRINGS = ['stratum+tcp://', 'stratum+ssl://', 'donate.v2.xmrig.com', '"rx/0"', 'randomx', 'cryptonight'] as const;

/** Directories no legitimate service binary should live in. */
export const SUSPICIOUS_BINARY_DIRS = ['/tmp/', '/var/tmp/', '/dev/shm/', '/root/', '/home/'] as const;

export function isPoolPort(port: number): boolean {
  return (
    (POOL_PORTS as readonly number[]).includes(port) || POOL_PORT_RANGES.some(([low, high]) => port >= low && port <= high)
  );
}
