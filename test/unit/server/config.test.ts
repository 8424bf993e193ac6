import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA } from '../../../src/config/config.js';

const parse = (extra: object) => CONFIG_SCHEMA.safeParse({ known_hosts: 'known_hosts', hosts: {}, ...extra });

describe('config for soar serve', () => {
  it('defaults to loopback 127.0.0.1:8787, a 1 MiB body limit, 16 runs at once and a queue of 1000', () => {
    const parsed = parse({});
    expect(parsed.success && parsed.data.server).toEqual({ listen: { host: '127.0.0.1', port: 8787 }, body_limit: 1024 * 1024, max_concurrent_runs: 16, queue_limit: 1000 });
  });

  it('takes the intake secret only as a reference (env or file), never inline', () => {
    expect(parse({ server: { intake_secret: { env: 'SOAR_INTAKE_SECRET' } } }).success).toBe(true);
    expect(parse({ server: { intake_secret: 'hunter2hunter2hunter2' } }).success).toBe(false);
  });

  it('stores analysts\' API tokens only as sha256 (64 lowercase hex)', () => {
    expect(parse({ approvers: { alice: { roles: ['responder'], token_sha256: 'ab'.repeat(32) } } }).success).toBe(true);
    for (const token_sha256 of ['alice-token', 'AB'.repeat(32), 'ab'.repeat(31)]) {
      expect(parse({ approvers: { alice: { roles: ['responder'], token_sha256 } } }).success).toBe(false);
    }
  });

  it('refuses unknown keys and nonsense limits', () => {
    expect(parse({ server: { listen: { host: '0.0.0.0', port: 70000 } } }).success).toBe(false);
    expect(parse({ server: { max_concurrent_runs: 0 } }).success).toBe(false);
    expect(parse({ server: { body_limit: 10 } }).success).toBe(false);
    expect(parse({ server: { queue: 5 } }).success).toBe(false);
  });
});
