import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Exposes V8's gc without a command-line flag, so `npx vite-node` runs the benchmark as is.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

export interface MemorySample {
  rssMb: number;
  heapMb: number;
}

const MB = 1024 * 1024;

/** Memory after full collections: what is still held, not garbage waiting to be collected. */
export function settledMemory(): MemorySample {
  collect();
  collect();
  const usage = process.memoryUsage();
  return { rssMb: usage.rss / MB, heapMb: usage.heapUsed / MB };
}
