import { readFile } from 'node:fs/promises';
import { isMap, isNode, isPair, LineCounter, parseDocument, type Document } from 'yaml';
import type * as z from 'zod';
import { SoarError } from '../errors.js';

/** A position in a YAML file, 1-based as editors show it. */
export interface Location {
  file: string;
  line: number;
  column: number;
}

/** A YAML file (playbook, config) that does not parse or does not fit its schema. */
export class YamlFileError extends SoarError {
  readonly location: Location;
  constructor(code: string, location: Location, message: string) {
    super(code, `${location.file}:${location.line}:${location.column}: ${message}`);
    this.location = location;
  }
}

/** A parsed YAML document that can tell where any path inside it was written. */
export interface LocatedDocument {
  file: string;
  value: unknown;
  /** Where the value at `path` was written; with `'key'`, where its key was (for an unknown key). */
  locate(path: readonly PropertyKey[], part?: 'key' | 'value'): Location;
}

export async function readLocatedYaml(file: string): Promise<LocatedDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SoarError('FILE_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  return parseLocatedYaml(text, file);
}

export function parseLocatedYaml(text: string, file: string): LocatedDocument {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Location => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const [first] = document.errors;
  if (first) {
    throw new YamlFileError('YAML_SYNTAX', at(first.pos[0]), first.message.split('\n')[0] ?? first.message);
  }
  return {
    file,
    value: document.toJS({ maxAliasCount: 100 }),
    locate: (path, part = 'value') => at(offsetOf(document, path, part)),
  };
}

/** Offset of the deepest node along `path` that exists: a missing key points at its parent. */
function offsetOf(document: Document, path: readonly PropertyKey[], part: 'key' | 'value'): number {
  let node: unknown = document.contents;
  let offset = (isNode(node) ? node.range?.[0] : undefined) ?? 0;
  for (const [index, key] of path.entries()) {
    if (!isNode(node) || !('items' in node)) break;
    const items = (node as { items: unknown[] }).items;
    let next: unknown;
    if (isMap(node)) {
      const pair = items.find((item) => isPair(item) && isNode(item.key) && String((item.key as { value?: unknown }).value) === String(key));
      if (!isPair(pair)) break;
      // Point at the value when it exists, else at the key.
      next = pair.value ?? pair.key;
      const keyRange = isNode(pair.key) ? pair.key.range : undefined;
      const wantsKey = part === 'key' && index === path.length - 1;
      if ((wantsKey || !isNode(pair.value)) && keyRange) {
        offset = keyRange[0];
        break;
      }
    } else {
      next = items[Number(key)];
    }
    if (!isNode(next) || !next.range) break;
    node = next;
    offset = next.range[0];
  }
  return offset;
}

/**
 * Validates a located document against a zod schema; the first issue becomes one error with the
 * line and column of the offending value and its dotted path.
 */
export function parseWithSchema<T>(document: LocatedDocument, schema: z.ZodType<T>, code: string): T {
  const result = schema.safeParse(document.value, { reportInput: true });
  if (result.success) return result.data;
  throw issueError(document, code, result.error.issues[0]!);
}

/**
 * One zod issue as a located error; `under` prefixes its path when a schema checked only part of
 * the document (a playbook step's params). Parse with `reportInput: true` to name missing keys.
 */
export function issueError(document: LocatedDocument, code: string, issue: z.core.$ZodIssue, under: readonly PropertyKey[] = []): YamlFileError {
  if (issue.code === 'unrecognized_keys') {
    // zod reports the object; the user needs the misspelt key itself.
    const path = [...under, ...issue.path, issue.keys[0]!];
    return new YamlFileError(code, document.locate(path, 'key'), `${formatPath(path)}: unknown key; remove it or correct its spelling`);
  }
  const path = [...under, ...issue.path];
  // A bad map key (zod's invalid_key) is written at the key, not at its value.
  const part = issue.code === 'invalid_key' ? 'key' : 'value';
  // Parsed with reportInput, a missing key shows as an undefined input: say what to do instead.
  const missing = issue.code === 'invalid_type' && 'input' in issue && issue.input === undefined;
  const message = missing ? `required (${issue.expected}); add it` : issue.message;
  return new YamlFileError(code, document.locate(path, part), `${formatPath(path)}: ${message}`);
}

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(document)';
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
}
