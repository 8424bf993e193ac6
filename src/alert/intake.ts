import { readFile } from 'node:fs/promises';
import { SoarError } from '../errors.js';
import type { Alert, AlertProcess } from './alert.js';
import { describe, fieldReader, type FieldReader } from './field-reader.js';
import { isJsonObject, jsonPath, type JsonObject } from './fields.js';
import { AlertIntakeError } from './intake-error.js';
import { renderValue } from './render.js';

export { AlertIntakeError };

/**
 * Alert intake: finds the alerts in whatever shape they arrived in (a bare alert document, an
 * Elasticsearch hit, a search response, a Kibana webhook body) and normalises each into an Alert.
 */

/** The input itself, in error fields. */
const ROOT = '$';

/** The key that marks each envelope; a document with two of them is refused as ambiguous. */
const ENVELOPES = {
  hits: 'a search response',
  alerts: 'a Kibana webhook body',
  _source: 'an Elasticsearch hit',
} as const;

export function parseAlerts(input: unknown): Alert[] {
  if (!isJsonObject(input)) {
    throw new AlertIntakeError(
      ROOT,
      'expected a JSON object (an alert, an Elasticsearch hit, a search response or a Kibana webhook body), ' +
        `got ${describe(input)}`,
    );
  }
  const shapes = (Object.keys(ENVELOPES) as Array<keyof typeof ENVELOPES>).filter((key) => Object.hasOwn(input, key));
  if (shapes.length > 1) {
    const named = shapes.map((key) => `${ENVELOPES[key]} (${key})`).join(' and ');
    throw new AlertIntakeError(ROOT, `the input looks like both ${named}; send one of them`);
  }
  switch (shapes[0]) {
    case 'hits':
      return alertsOfSearchResponse(input);
    case 'alerts':
      return alertsOfWebhookBody(input);
    case '_source':
      return [alertOfHit(input, '')];
    default:
      return [alertOfDocument(input, '', input)];
  }
}

/** Reads a JSON file holding alerts in any shape parseAlerts accepts. */
export async function readAlerts(file: string): Promise<Alert[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SoarError('FILE_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  return parseAlerts(parseJson(text.replace(/^\uFEFF/, ''), file));
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = (error as Error).message;
    const offset = Number(/at position (\d+)/.exec(reason)?.[1] ?? text.length);
    const lines = text.slice(0, offset).split('\n');
    const where = `${file}:${lines.length}:${(lines.at(-1)?.length ?? 0) + 1}`;
    const problem = reason.replace(/ in JSON at position \d+.*$/, '');
    throw new AlertIntakeError(ROOT, `${where}: not valid JSON (${problem}); fix the file`);
  }
}

function nonEmptyList(value: unknown, path: string, what: string): unknown[] {
  if (!Array.isArray(value)) throw new AlertIntakeError(path, `expected an array of ${what}, got ${describe(value)}`);
  if (value.length === 0) throw new AlertIntakeError(path, `holds no ${what}: there is nothing to respond to`);
  return value;
}

function alertsOfSearchResponse(response: JsonObject): Alert[] {
  const { hits } = response;
  if (!isJsonObject(hits)) {
    throw new AlertIntakeError('hits', `expected an object holding hits[], got ${describe(hits)}`);
  }
  return nonEmptyList(hits.hits, 'hits.hits', 'hits').map((hit, index) => alertOfHit(hit, `hits.hits[${index}]`));
}

function alertOfHit(hit: unknown, path: string): Alert {
  if (!isJsonObject(hit)) throw new AlertIntakeError(path || ROOT, `expected a hit object, got ${describe(hit)}`);
  const source = jsonPath(path, '_source');
  if (!isJsonObject(hit._source)) {
    throw new AlertIntakeError(source, `expected the alert document as an object, got ${describe(hit._source)}`);
  }
  return alertOfDocument(hit._source, source, hit, path);
}

/**
 * Kibana's webhook connector sends what the rule action's template says; the useful template is
 * `{"alerts": {{{context.alerts.asJSON}}}, "rule_id": "{{context.rule.rule_id}}"}`.
 */
function alertsOfWebhookBody(body: JsonObject): Alert[] {
  const alerts = nonEmptyList(body.alerts, 'alerts', 'alerts').map((document, index) => {
    const path = `alerts[${index}]`;
    if (!isJsonObject(document)) {
      throw new AlertIntakeError(path, `expected an alert object, got ${describe(document)}`);
    }
    return alertOfDocument(document, path, document, path);
  });
  // The template's rule_id must be the alerts' own rule (its rule_id or saved-object id), or the body was tampered with.
  const ruleId = body.rule_id;
  if (ruleId === undefined || ruleId === '') return alerts;
  if (typeof ruleId !== 'string') throw new AlertIntakeError('rule_id', `expected a string, got ${describe(ruleId)}`);
  const stray = alerts.find((alert) => alert.rule.ruleId !== ruleId && alert.rule.uuid !== ruleId);
  if (stray !== undefined) {
    throw new AlertIntakeError(
      jsonPath(stray.source, 'kibana.alert.rule.rule_id'),
      `is ${renderValue(stray.rule.ruleId ?? null)} but the webhook body says rule_id ${renderValue(ruleId)}; ` +
        "the body does not hold together, check the connector's template",
    );
  }
  return alerts;
}

/**
 * One alert document. `meta` holds the hit's `_id`/`_index` (a webhook alert may carry them
 * itself); `metaPath` is where they sit in the input.
 */
function alertOfDocument(document: JsonObject, source: string, meta: JsonObject, metaPath = source): Alert {
  const read = fieldReader(document, source);
  const metaRead = fieldReader(meta, metaPath);
  const rule = {
    ruleId: read.text('kibana.alert.rule.rule_id'),
    uuid: read.text('kibana.alert.rule.uuid'),
    name: read.text('kibana.alert.rule.name'),
  };
  return {
    id: alertId(read.text('kibana.alert.uuid'), metaRead.text('_id'), source, metaPath),
    index: metaRead.text('_index') ?? spaceIndex(read.textList('kibana.space_ids')),
    timestamp: required(read.timestamp('@timestamp'), jsonPath(source, '@timestamp'), 'the time of the alert'),
    rule: rule.ruleId || rule.name ? rule : missingRule(source),
    event: {
      action: read.text('kibana.alert.original_event.action') ?? read.text('event.action'),
      type: read.textList('kibana.alert.original_event.type') ?? read.textList('event.type') ?? [],
      category: read.textList('kibana.alert.original_event.category') ?? read.textList('event.category') ?? [],
    },
    host: {
      name: read.text('host.name'),
      hostname: read.text('host.hostname'),
      id: read.text('host.id'),
      ip: read.textList('host.ip') ?? [],
      os: { type: read.text('host.os.type'), family: read.text('host.os.family'), name: read.text('host.os.name') },
    },
    file: { path: read.text('file.path'), name: read.text('file.name') },
    process: processOf(read),
    user: { id: read.textOrNumber('user.id'), name: read.text('user.name') },
    source,
  };
}

function required<T>(value: T | undefined, field: string, what: string): T {
  if (value === undefined) {
    throw new AlertIntakeError(field, `missing: every alert needs ${what}; this input is not a detection alert`);
  }
  return value;
}

/** `kibana.alert.uuid` and the hit's `_id` name the same alert; when both are given they must agree. */
function alertId(uuid: string | undefined, hitId: string | undefined, source: string, metaPath: string): string {
  const uuidField = jsonPath(source, 'kibana.alert.uuid');
  if (uuid !== undefined && hitId !== undefined && uuid !== hitId) {
    throw new AlertIntakeError(
      uuidField,
      `is ${renderValue(uuid)} but ${jsonPath(metaPath, '_id')} is ${renderValue(hitId)}; ` +
        'they must name the same alert',
    );
  }
  const id = required(uuid ?? hitId, uuidField, 'an id (kibana.alert.uuid, or the hit\'s _id)');
  if (id === '') {
    throw new AlertIntakeError(uuid === undefined ? jsonPath(metaPath, '_id') : uuidField, 'is empty; every alert needs an id');
  }
  return id;
}

function missingRule(source: string): never {
  throw new AlertIntakeError(
    jsonPath(source, 'kibana.alert.rule.rule_id'),
    'missing, and so is kibana.alert.rule.name: every alert needs the rule that raised it',
  );
}

/** Security alerts of a Kibana space live behind this alias: what a Cases attachment names. */
function spaceIndex(spaces: string[] | undefined): string | undefined {
  const [space, ...others] = spaces ?? [];
  return space !== undefined && others.length === 0 && /^[a-z0-9_-]{1,64}$/.test(space)
    ? `.alerts-security.alerts-${space}`
    : undefined;
}

function processOf(read: FieldReader): AlertProcess | undefined {
  const parent = {
    pid: read.number('process.parent.pid'),
    entityId: read.text('process.parent.entity_id'),
    executable: read.text('process.parent.executable'),
  };
  const process: AlertProcess = {
    pid: read.number('process.pid'),
    entityId: read.text('process.entity_id'),
    executable: read.text('process.executable'),
    name: read.text('process.name'),
    commandLine: read.text('process.command_line'),
    parent: Object.values(parent).some((value) => value !== undefined) ? parent : undefined,
  };
  return Object.values(process).some((value) => value !== undefined) ? process : undefined;
}
