import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA, type Config } from '../../../src/config/config.js';
import { SshFleet } from '../../../src/transport/ssh/fleet.js';

// Connection failures that need no SSH server: real sockets that refuse, stay silent or speak nonsense.

let dir: string;
const servers: Server[] = [];

function config(hosts: Record<string, Record<string, unknown>>, knownHosts = 'known_hosts'): Config {
  const identity = { identity_file: 'id_ed25519' };
  const withKeys = Object.fromEntries(Object.entries(hosts).map(([name, host]) => [name, { ...identity, ...host }]));
  return { ...CONFIG_SCHEMA.parse({ known_hosts: knownHosts, hosts: withKeys }), baseDir: dir };
}

/** A local TCP server; `greet` is what it writes on accept (nothing: a hung sshd). */
async function listen(greet: string | undefined): Promise<number> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    if (greet !== undefined) socket.end(greet);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** A port nothing listens on: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const port = await listen(undefined);
  await new Promise((resolve) => servers.pop()!.close(resolve));
  return port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'soar-fleet-'));
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id_ed25519')]);
  await writeFile(join(dir, 'known_hosts'), '');
});

afterAll(async () => {
  for (const server of servers) server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('SshFleet without a host to reach', () => {
  it('refuses a host that is not in the inventory', () => {
    const fleet = new SshFleet(config({}));
    expect(() => fleet.transport('web-9')).toThrow(expect.objectContaining({ code: 'HOST_NOT_IN_INVENTORY' }));
  });

  it('does not take inherited object keys for hosts', () => {
    expect(() => new SshFleet(config({})).transport('constructor')).toThrow(expect.objectContaining({ code: 'HOST_NOT_IN_INVENTORY' }));
  });

  it('reports a refused TCP connection', async () => {
    const fleet = new SshFleet(config({ web: { address: '127.0.0.1', port: await closedPort() } }));
    await expect(fleet.transport('web').exec({ argv: ['true'], timeoutMs: 1000 })).rejects.toMatchObject({ code: 'CONNECTION_REFUSED', retryable: true });
  });

  it('reports a name that does not resolve', async () => {
    const fleet = new SshFleet(config({ web: { address: 'soar-test.invalid' } }));
    await expect(fleet.transport('web').exec({ argv: ['true'], timeoutMs: 1000 })).rejects.toMatchObject({ code: 'DNS_FAILURE' });
  });

  it('gives up on a server that accepts and never speaks, within connect_timeout', async () => {
    const fleet = new SshFleet(config({ web: { address: '127.0.0.1', port: await listen(undefined), connect_timeout: '700ms' } }));
    const started = Date.now();
    await expect(fleet.transport('web').exec({ argv: ['true'], timeoutMs: 1000 })).rejects.toMatchObject({ code: 'CONNECT_TIMEOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports a server that does not speak SSH as a failed handshake', async () => {
    const fleet = new SshFleet(config({ web: { address: '127.0.0.1', port: await listen('HTTP/1.1 400 Bad Request\r\n\r\n') } }));
    await expect(fleet.transport('web').exec({ argv: ['true'], timeoutMs: 1000 })).rejects.toMatchObject({ code: 'HANDSHAKE_FAILED' });
  });

  it('refuses a loop of jump hosts instead of waiting on itself', async () => {
    const fleet = new SshFleet(config({ a: { address: '127.0.0.1', jump: 'b' }, b: { address: '127.0.0.1', jump: 'a' } }));
    await expect(fleet.transport('a').exec({ argv: ['true'], timeoutMs: 1000 })).rejects.toMatchObject({ code: 'JUMP_LOOP' });
  });

  it('refuses to connect without a readable known_hosts file', async () => {
    const fleet = new SshFleet(config({ web: { address: '127.0.0.1' } }, 'missing_known_hosts'));
    await expect(fleet.probe('web')).rejects.toMatchObject({ code: 'KNOWN_HOSTS_UNREADABLE' });
  });
});
