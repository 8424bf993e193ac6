import { readSecret, type Config } from '../config/config.js';
import { SoarError } from '../errors.js';

/** Shorter keys can be guessed offline from any one record, which would let a rewriter re-chain. */
const MIN_KEY_CHARS = 32;

/** The audit HMAC key named by the config (`audit.key`: env or file), or undefined for plain sha256. */
export async function auditKey(config: Config): Promise<Buffer | undefined> {
  if (!config.audit) return undefined;
  const text = await readSecret(config, config.audit.key, 'audit.key');
  if (text.length < MIN_KEY_CHARS) {
    throw new SoarError('AUDIT_KEY_WEAK', `audit.key: the key has ${text.length} characters, at least ${MIN_KEY_CHARS} are needed: generate one with \`openssl rand -hex 32\``);
  }
  return Buffer.from(text, 'utf8');
}
