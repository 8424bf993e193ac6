import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';

async function load(kibana: string) {
  const dir = await mkdtemp(join(tmpdir(), 'soar-kibana-config-'));
  const file = join(dir, 'soar.yaml');
  await writeFile(file, `known_hosts: known_hosts\nhosts: {}\nescalation:\n  kibana: ${kibana}\n`);
  return loadConfig(file);
}

describe('escalation.kibana in the config', () => {
  it('takes a URL, a space, the Authorization header as a secret reference, and an alert index', async () => {
    const config = await load('{ url: "https://kibana.example:5601", space: soc-team, auth: { env: KIBANA_AUTH }, alert_index: .alerts-security.alerts-soc-team }');
    expect(config.escalation.kibana).toEqual({ url: 'https://kibana.example:5601', space: 'soc-team', auth: { env: 'KIBANA_AUTH' }, alert_index: '.alerts-security.alerts-soc-team' });
    expect((await load('{ url: "http://127.0.0.1:5601", auth: { file: kibana.auth } }')).escalation.kibana).toEqual({ url: 'http://127.0.0.1:5601', auth: { file: 'kibana.auth' } });
  });

  it.each([
    ['an inline credential', '{ url: "https://k.example", auth: "ApiKey abc" }', /auth/],
    ['a space with a slash', '{ url: "https://k.example", space: "a/../b", auth: { env: K } }', /space/],
    ['a non-HTTP URL', '{ url: "file:///etc/passwd", auth: { env: K } }', /url/],
    ['an unknown key', '{ url: "https://k.example", auth: { env: K }, token: x }', /token/],
    ['an index with a slash', '{ url: "https://k.example", auth: { env: K }, alert_index: "a/b" }', /alert_index/],
  ])('refuses %s', async (_what, kibana, where) => {
    await expect(load(kibana)).rejects.toThrow(where);
  });
});
