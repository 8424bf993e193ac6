import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig, defaultConfig, type Config } from '../config/config.js';

/** The playbooks shipped with soar (works from src/ in tests and from dist/ when installed). */
export const BUNDLED_PLAYBOOKS_DIR = fileURLToPath(new URL('../../playbooks/', import.meta.url));
export const DEFAULT_PLAYBOOK = `${BUNDLED_PLAYBOOKS_DIR}mining-service.yaml`;

/**
 * The config named by --config, else $SOAR_CONFIG, else ./soar.yaml when it exists, else an
 * empty inventory (enough to plan, not to run).
 */
export async function configFrom(option: string | undefined): Promise<{ config: Config; file: string | undefined }> {
  const file = option ?? (process.env.SOAR_CONFIG || undefined) ?? (existsSync('soar.yaml') ? 'soar.yaml' : undefined);
  return file === undefined ? { config: defaultConfig(), file } : { config: await loadConfig(file), file };
}

