import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where soar's own files are. This module sits at the top of the code: src/ in tests, and dist/
 * as built, where the bundle's entry and every chunk sit (never in a subdirectory, or this URL
 * would move), so the same relative paths hold in every layout.
 */
const CODE = new URL('./', import.meta.url);

/** The remote scripts and YARA rules sent to hosts (src/actions/remote, copied into dist). */
export const remoteFile = (name: string): URL => new URL(`actions/remote/${name}`, CODE);
/** The analyst console's static files (src/console, copied into dist). */
export const consoleFile = (name: string): URL => new URL(`console/${name}`, CODE);
/** The playbooks shipped with soar. */
export const BUNDLED_PLAYBOOKS_DIR = fileURLToPath(new URL('../playbooks/', CODE));

let version: string | undefined;
/** soar's version, from its package.json. */
export function soarVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../package.json', CODE), 'utf8')) as { version: string }).version;
  return version;
}
