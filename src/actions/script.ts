import { readFileSync } from 'node:fs';
import { shScript, type Command } from '../command/command.js';
import { remoteFile } from '../paths.js';

const cache = new Map<string, string>();

/**
 * The text of a remote action script: the shared prelude followed by the action's own body
 * (src/actions/remote/<name>.sh). Constant text: alert values never enter it.
 */
export function remoteScript(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    const read = (file: string) => readFileSync(remoteFile(`${file}.sh`), 'utf8');
    text = `${read('prelude')}\n${read(name)}`;
    cache.set(name, text);
  }
  return text;
}

/**
 * A host command running one action script. The script travels as the single argument of
 * `sh -c`, so a dropped connection can never leave half a script executed (as `sh -s` could).
 */
export function hostScript(name: string, args: readonly string[], timeoutMs: number): Command {
  return shScript(name, remoteScript(name), args, timeoutMs);
}
