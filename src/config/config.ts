import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import * as z from 'zod';
import { SoarError } from '../errors.js';
import { CLOSE_REASONS, INDEX_NAME, KIBANA_SPACE } from '../kibana/grammar.js';
import { parseWithSchema, readLocatedYaml } from '../yaml/located.js';
import { HOST_NAME, SYSTEMD_UNIT_NAME, SHA256_HEX, ipFamily, isIpAddress, isNormalAbsolutePath } from '../grammar.js';

/**
 * A secret is never written in the config itself: it names an environment variable or a file.
 * The value is read only when it is used and never logged.
 */
const secretRef = z.union([
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }),
  z.strictObject({ file: z.string().min(1) }),
]);
export type SecretRef = z.infer<typeof secretRef>;

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 500ms, 30s, 5m, 4h or 1d')
  .transform(parseDuration);

const ipAddress = z.string().refine(isIpAddress, 'an IPv4 or IPv6 address');
const cidr = z.string().refine((value) => {
  const [address, bits, extra] = value.split('/');
  const family = address === undefined ? 0 : ipFamily(address);
  if (extra !== undefined || family === 0) return false;
  if (bits === undefined) return true;
  const max = family === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}, 'an IPv4/IPv6 address or CIDR prefix');
const port = z.number().int().min(1).max(65535);

const hostSchema = z.strictObject({
  /** Where soar connects to: an IP address or a DNS name. */
  address: z.union([ipAddress, z.string().regex(HOST_NAME, 'an IP address or RFC 1123 host name')]),
  port: port.default(22),
  user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a POSIX user name').default('root'),
  /** Private key file, relative to the config file; omit to use ssh-agent (SSH_AUTH_SOCK). */
  identity_file: z.string().min(1).optional(),
  passphrase: secretRef.optional(),
  /** Name of another host in this inventory to tunnel through. */
  jump: z.string().optional(),
  /** Concurrent commands on this host's one connection (keep at or below sshd's MaxSessions). */
  max_sessions: z.number().int().min(1).max(64).default(4),
  connect_timeout: duration.default(10_000),
});

const allowOut = z.strictObject({
  address: cidr,
  port: port.optional(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  description: z.string().optional(),
});

/** Name, binary path and hash must all match: an attacker can copy a name, not a hash. */
const allowlistEntry = z.strictObject({
  unit: z.string().regex(SYSTEMD_UNIT_NAME, 'a systemd unit name'),
  /** The unit's ExecStart binary, as an absolute path. */
  binary: z.string().refine(isNormalAbsolutePath, 'an absolute, normalised path'),
  sha256: z.string().regex(SHA256_HEX, '64 lowercase hex digits'),
  reason: z.string().min(1),
});

const serverSchema = z.strictObject({
  /** Loopback by default: put a TLS-terminating proxy in front before exposing it. */
  listen: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(8787) }).default({ host: '127.0.0.1', port: 8787 }),
  /** The shared secret Kibana's webhook connector sends in the x-soar-secret header; soar serve refuses to start without it. */
  intake_secret: secretRef.optional(),
  /** Largest request body in bytes; a bigger one is refused with 413. */
  body_limit: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** Runs driven at once (each holds at most one SSH connection, to its host). */
  max_concurrent_runs: z.number().int().min(1).max(1024).default(16),
  /** Runs waiting for a free slot; beyond it intake answers 429 with Retry-After. */
  queue_limit: z.number().int().min(1).max(100_000).default(1000),
});

const configSchema = z
  .strictObject({
    /** OpenSSH known_hosts file with the pinned keys of every host; relative to the config file. */
    known_hosts: z.string().min(1),
    hosts: z.record(z.string().regex(HOST_NAME, 'an RFC 1123 host name (the alert\'s host.name)'), hostSchema),
    isolation: z
      .strictObject({
        /** Always allowed to reach sshd, besides the address the host sees soar connect from. */
        management: z.array(cidr).default([]),
        /** What an isolated host may still reach (the SIEM, the Fleet server). */
        allow_out: z.array(allowOut).default([]),
        /** The host restores its network by itself unless soar proves access within this time. */
        revert_after: duration.default(60_000),
      })
      .default({ management: [], allow_out: [], revert_after: 60_000 }),
    /** Units that are known good: a match makes triage report a false positive. */
    allowlist: z.array(allowlistEntry).default([]),
    quarantine_dir: z
      .string()
      .refine(isNormalAbsolutePath, 'an absolute, normalised path')
      .default('/var/lib/soar/quarantine'),
    escalation: z
      .strictObject({
        webhook: z
          .strictObject({
            url: z.url({ protocol: /^https?$/ }),
            headers: z.record(z.string(), secretRef).default({}),
          })
          .optional(),
        /** Kibana itself: the escalation opens a case, attaches the alert, comments the timeline, sets the alert's status. */
        kibana: z
          .strictObject({
            url: z.url({ protocol: /^https?$/ }),
            /** Kibana space id; omit for the default space. */
            space: z.string().regex(KIBANA_SPACE, 'a Kibana space id (lowercase letters, digits, _ and -)').optional(),
            /** The whole Authorization header value: `ApiKey <base64>` or `Basic <base64>`. */
            auth: secretRef,
            /** The alerts index for the case's alert attachment; default: the alert's own index. */
            alert_index: z.string().regex(INDEX_NAME, 'an Elasticsearch index name').optional(),
            /** Kibana 9.2+: the reason given when a contained run closes its alert (kibana.alert.workflow_reason); default: none. */
            close_reason: z.enum(CLOSE_REASONS).optional(),
          })
          .optional(),
      })
      .default({}),
    approvers: z
      .record(
        z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'an analyst name'),
        z.strictObject({
          roles: z.array(z.string().min(1)).min(1),
          /** sha256 of the analyst's API token for soar serve: the token itself is never stored. */
          token_sha256: z.string().regex(SHA256_HEX, '64 lowercase hex digits (sha256 of the token)').optional(),
        }),
      )
      .default({}),
    /** soar serve: the HTTP intake and approval API. */
    server: serverSchema.default(serverSchema.parse({})),
    /** The SQLite store (runs, approvals, audit trail), relative to the config file; see storePath. */
    store: z.string().min(1).optional(),
    /** Keys the audit chain with HMAC-SHA256: kept outside the store, so a rewriter of the store cannot re-chain it. */
    audit: z.strictObject({ key: secretRef }).optional(),
  })
  .superRefine((config, context) => {
    for (const [name, host] of Object.entries(config.hosts)) {
      if (host.jump !== undefined && !(host.jump in config.hosts)) {
        context.addIssue({ code: 'custom', path: ['hosts', name, 'jump'], message: `no host named "${host.jump}" in hosts` });
      }
      if (host.jump === name) {
        context.addIssue({ code: 'custom', path: ['hosts', name, 'jump'], message: 'a host cannot be its own jump host' });
      }
    }
  });

export type HostEntry = z.infer<typeof hostSchema>;
export type Config = z.infer<typeof configSchema> & {
  /** Directory of the config file: relative paths inside it resolve against this. */
  baseDir: string;
};

export const CONFIG_SCHEMA = configSchema;

export async function loadConfig(file: string): Promise<Config> {
  const document = await readLocatedYaml(file);
  const parsed = parseWithSchema(document, configSchema, 'CONFIG_INVALID');
  return { ...parsed, baseDir: dirname(resolve(file)) };
}

/** An empty configuration, for planning without an inventory. */
export function defaultConfig(): Config {
  return { ...configSchema.parse({ known_hosts: 'known_hosts', hosts: {} }), baseDir: process.cwd() };
}

export function resolveConfigPath(config: Config, path: string): string {
  return isAbsolute(path) ? path : resolve(config.baseDir, path);
}

/** The store: --store, else the config's `store`, else $SOAR_STORE, else ./soar.db. */
export function storePath(config: Config, option: string | undefined): string {
  if (option !== undefined) return option;
  if (config.store !== undefined) return resolveConfigPath(config, config.store);
  return process.env.SOAR_STORE || 'soar.db';
}

export async function readSecret(config: Config, ref: SecretRef, what: string): Promise<string> {
  if ('env' in ref) {
    const value = process.env[ref.env];
    if (value === undefined) {
      throw new SoarError('SECRET_MISSING', `${what}: environment variable ${ref.env} is not set`);
    }
    return value;
  }
  try {
    return (await readFile(resolveConfigPath(config, ref.file), 'utf8')).trimEnd();
  } catch (error) {
    throw new SoarError('SECRET_MISSING', `${what}: cannot read secret file ${ref.file}: ${(error as Error).message}`);
  }
}

export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new SoarError('INVALID_DURATION', `"${text}" is not a duration such as 30s, 5m or 4h`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
