import { existsSync } from 'node:fs';
import { loadConfig, defaultConfig, type Config } from '../config/config.js';
import { BUNDLED_PLAYBOOKS_DIR } from '../paths.js';

export const DEFAULT_PLAYBOOK = `${BUNDLED_PLAYBOOKS_DIR}mining-service.yaml`;

/**
 * The config named by --config, else $SOAR_CONFIG, else ./soar.yaml when it exists, else an
 * empty inventory (enough to plan, not to run).
 */
export async function configFrom(option: string | undefined): Promise<{ config: Config; file: string | undefined }> {
  const file = option ?? (process.env.SOAR_CONFIG || undefined) ?? (existsSync('soar.yaml') ? 'soar.yaml' : undefined);
  return file === undefined ? { config: defaultConfig(), file } : { config: await loadConfig(file), file };
}

