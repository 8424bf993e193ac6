import { Worker } from 'node:worker_threads';

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  /** Request bodies, each sent once, in order, by whichever client is free. */
  bodies: readonly string[];
  clients: number;
  /** No new request starts after this long: a slow server bounds the round's time, not its count. */
  maxMs: number;
}

export interface LoadResult {
  elapsedMs: number;
  /** How many answers had each HTTP status. */
  statuses: Record<number, number>;
}

// Plain JavaScript for a worker thread: the clients get their own event loop (and core), so their cost is not the server's.
const CLIENTS = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, headers, bodies, clients, maxMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const target = new URL(url);
const statuses = {};
let next = 0;
const started = performance.now();
function post(body) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (response) => {
      response.on('data', () => {});
      response.on('end', () => resolve(response.statusCode));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}
async function client() {
  while (next < bodies.length && performance.now() - started < maxMs) {
    const status = await post(bodies[next++]);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
}
Promise.all(Array.from({ length: clients }, client)).then(
  () => { agent.destroy(); parentPort.postMessage({ elapsedMs: performance.now() - started, statuses }); },
  (error) => parentPort.postMessage({ error: String(error && error.stack || error) }),
);
`;

/** Posts every body with `clients` concurrent keep-alive clients from a worker thread. */
export function postConcurrently(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CLIENTS, { eval: true, workerData: { ...options, headers: { 'content-type': 'application/json', ...options.headers } } });
    worker.once('message', (message: LoadResult | { error: string }) => {
      void worker.terminate();
      if ('error' in message) reject(new Error(`the load clients failed: ${message.error}`));
      else resolve(message);
    });
    worker.once('error', reject);
  });
}
