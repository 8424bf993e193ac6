import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, readSecret, resolveConfigPath } from '../../../src/config/config.js';
import { YamlFileError } from '../../../src/yaml/located.js';

async function configFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'soar-config-'));
  const file = join(dir, 'soar.yaml');
  await writeFile(file, text);
  return file;
}

const VALID = `known_hosts: known_hosts
hosts:
  web-01:
    address: 198.18.0.2
    identity_file: keys/id_ed25519
    passphrase: { env: SOAR_TEST_PASSPHRASE }
  db-01:
    address: db-01.example.internal
    port: 2222
    user: responder
    jump: web-01
isolation:
  management: [198.18.0.1, 2001:db8::/64]
  allow_out:
    - { address: 198.18.200.10, port: 9200, description: SIEM }
  revert_after: 90s
allowlist:
  - { unit: aliyun.service, binary: /usr/local/share/aliyun-assist/2.5.3/aliyun-service, sha256: abababababababababababababababababababababababababababababababab, reason: Alibaba Cloud agent }
escalation:
  webhook: { url: "http://127.0.0.1:9999/hook", headers: { Authorization: { env: SOAR_TEST_TOKEN } } }
approvers:
  alice: { roles: [responder] }
`;

describe('config', () => {
  it('loads an inventory with defaults and resolves paths against the file', async () => {
    const file = await configFile(VALID);
    const config = await loadConfig(file);
    expect(config.hosts['web-01']).toMatchObject({ address: '198.18.0.2', port: 22, user: 'root', max_sessions: 4 });
    expect(config.hosts['db-01']).toMatchObject({ port: 2222, user: 'responder', jump: 'web-01' });
    expect(config.isolation.revert_after).toBe(90_000);
    expect(config.quarantine_dir).toBe('/var/lib/soar/quarantine');
    expect(resolveConfigPath(config, 'keys/id_ed25519')).toBe(join(config.baseDir, 'keys/id_ed25519'));
  });

  it('reads secrets from the environment only when asked, and names what is missing', async () => {
    const config = await loadConfig(await configFile(VALID));
    const ref = config.hosts['web-01']!.passphrase!;
    delete process.env.SOAR_TEST_PASSPHRASE;
    await expect(readSecret(config, ref, 'hosts.web-01.passphrase')).rejects.toThrow(/SOAR_TEST_PASSPHRASE is not set/);
    process.env.SOAR_TEST_PASSPHRASE = 'hunter2';
    await expect(readSecret(config, ref, 'hosts.web-01.passphrase')).resolves.toBe('hunter2');
  });

  it.each([
    ['an inline secret', VALID.replace('{ env: SOAR_TEST_PASSPHRASE }', 'hunter2'), 6, 17, 'hosts.web-01.passphrase'],
    ['a hostile host name', VALID.replace('  web-01:\n    address', '  "web-01;reboot":\n    address'), 3, 3, 'hosts.web-01;reboot'],
    ['an unknown jump host', VALID.replace('jump: web-01', 'jump: nowhere'), 11, 11, 'hosts.db-01.jump'],
    ['a bad management prefix', VALID.replace('2001:db8::/64', '2001:db8::/129'), 13, 28, 'isolation.management[1]'],
    ['an unknown key', VALID.replace('    port: 2222', '    prot: 2222'), 9, 5, 'hosts.db-01.prot'],
    ['a bad duration', VALID.replace('revert_after: 90s', 'revert_after: soon'), 16, 17, 'isolation.revert_after'],
    ['a close reason Kibana does not know', VALID.replace('escalation:\n', 'escalation:\n  kibana: { url: "https://kibana.example", auth: { env: K }, close_reason: miner_removed }\n'), 20, 76, 'escalation.kibana.close_reason'],
  ])('refuses %s with file:line:column and the path', async (_name, text, line, column, path) => {
    const file = await configFile(text);
    const error = await loadConfig(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(YamlFileError);
    const located = error as YamlFileError;
    expect(located.code).toBe('CONFIG_INVALID');
    expect(located.message).toContain(`${file}:${located.location.line}:${located.location.column}: ${path}`);
    expect([located.location.line, located.location.column]).toEqual([line, column]);
  });
});
