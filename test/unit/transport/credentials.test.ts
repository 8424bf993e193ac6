import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA, type Config } from '../../../src/config/config.js';
import { CredentialsError } from '../../../src/transport/errors.js';
import { loadCredentials } from '../../../src/transport/ssh/credentials.js';

let dir: string;
const endpoint = { name: 'web-1', address: '198.18.0.2', port: 22, user: 'root' };
const savedAgent = process.env.SSH_AUTH_SOCK;

function configWith(host: Record<string, unknown>): { config: Config; host: Config['hosts'][string] } {
  const config = { ...CONFIG_SCHEMA.parse({ known_hosts: 'known_hosts', hosts: { 'web-1': { address: '198.18.0.2', ...host } } }), baseDir: dir };
  return { config, host: config.hosts['web-1']! };
}

async function load(host: Record<string, unknown>) {
  const { config, host: entry } = configWith(host);
  return loadCredentials(config, entry, endpoint);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'soar-credentials-'));
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'plain')]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', join(dir, 'encrypted')]);
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  if (savedAgent === undefined) delete process.env.SSH_AUTH_SOCK;
  else process.env.SSH_AUTH_SOCK = savedAgent;
  delete process.env.SOAR_TEST_PASSPHRASE;
});

describe('loadCredentials', () => {
  it('reads an identity file relative to the config, and names it by its ssh-keygen fingerprint', async () => {
    const credentials = await load({ identity_file: 'plain' });
    const fingerprint = (await execa('ssh-keygen', ['-lf', join(dir, 'plain')])).stdout.split(' ')[1];
    expect(credentials.kind).toBe('identity');
    expect(credentials.description).toBe(`identity file ${join(dir, 'plain')} (ssh-ed25519 ${fingerprint})`);
  });

  it('decrypts an identity file with the passphrase from the environment', async () => {
    process.env.SOAR_TEST_PASSPHRASE = 'correct horse';
    const credentials = await load({ identity_file: 'encrypted', passphrase: { env: 'SOAR_TEST_PASSPHRASE' } });
    expect(credentials).toMatchObject({ kind: 'identity', passphrase: 'correct horse' });
  });

  it('refuses a wrong or missing passphrase with a hint', async () => {
    process.env.SOAR_TEST_PASSPHRASE = 'battery staple';
    await expect(load({ identity_file: 'encrypted', passphrase: { env: 'SOAR_TEST_PASSPHRASE' } })).rejects.toThrow(/check the passphrase/);
    await expect(load({ identity_file: 'encrypted' })).rejects.toThrow(/set passphrase in the inventory/);
    await expect(load({ identity_file: 'encrypted' })).rejects.toBeInstanceOf(CredentialsError);
  });

  it('refuses a missing identity file', async () => {
    await expect(load({ identity_file: 'nope' })).rejects.toMatchObject({ code: 'CREDENTIALS_UNUSABLE' });
  });

  it('refuses a public key given as identity file', async () => {
    await expect(load({ identity_file: 'plain.pub' })).rejects.toBeInstanceOf(CredentialsError);
  });

  it('uses ssh-agent when no identity file is named, and says how to fix a missing agent', async () => {
    process.env.SSH_AUTH_SOCK = '/run/agent.sock';
    expect(await load({})).toMatchObject({ kind: 'agent', socket: '/run/agent.sock' });
    delete process.env.SSH_AUTH_SOCK;
    await expect(load({})).rejects.toThrow(/SSH_AUTH_SOCK is not set/);
  });
});
