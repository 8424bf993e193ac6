import { posix } from 'node:path';
import { InvalidFieldError } from '../errors.js';
import {
  ALERT_ID,
  HOST_ID,
  isHostName,
  isIpAddress,
  isNormalAbsolutePath,
  isPid,
  isPrintableText,
  isUnitName,
  PID_MAX,
} from '../grammar.js';
import type { Alert, AlertProcess } from './alert.js';
import { jsonPath } from './fields.js';
import { isVisibleText, renderValue } from './render.js';
import type { Target, TargetProcess } from './target.js';

/**
 * Target extraction: the one place where alert values become values a command may name.
 * Two kinds of field, treated differently on purpose:
 * - Strict fields may reach a command, as whole arguments: the alert id, host.name, host.id,
 *   host.ip, host.os.type, file.name, file.path, process.pid, process.parent.pid. A value that
 *   fails its grammar (src/grammar.ts) refuses the whole alert with an InvalidFieldError naming
 *   its JSON path: acting on a value we cannot trust is worse than not acting.
 * - Evidence fields never reach a command: process.command_line, process.executable, the
 *   entity ids, user.name, user.id. They never refuse the alert (an attacker must not block the
 *   response by naming the installer oddly); unprintable or invisible characters are kept
 *   JSON-escaped with a note saying so, and long text is cut.
 */

/** More addresses than any real host reports: a longer list is not a host's inventory. */
const MAX_ADDRESSES = 256;

const FORGED = 'a value outside its grammar may be forged, check what sent this alert';

const EVIDENCE_MAX = { commandLine: 4096, executable: 4096, entityId: 256, userName: 256, userId: 64 } as const;

export function extractTarget(alert: Alert): Target {
  const strict = new StrictFields(alert.source);
  const alertId = strict.check('kibana.alert.uuid', alert.id, isAlertId, 'an alert id (letters, digits, "_", "-")');
  strict.required('host.os.type', alert.host.os.type, (os) => os === 'linux', 'linux', 'soar acts on Linux hosts only');
  const host: Target['host'] = {
    name: strict.required('host.name', alert.host.name, isHostName, 'an RFC 1123 host name'),
    id: strict.optional('host.id', alert.host.id, isHostId, 'a host id (letters, digits and "-", 64 at most)'),
    addresses: strict.addresses('host.ip', alert.host.ip),
    os: 'linux',
  };
  const unit = strict.required('file.name', alert.file.name, isServiceUnit, 'a systemd unit name ending in .service');
  const pathHint = strict.optional('file.path', alert.file.path, isNormalAbsolutePath, 'an absolute, normalised path');
  if (pathHint !== undefined) {
    const namesUnit = (path: string): boolean => posix.basename(path) === unit;
    const expected = `a path to file.name ${renderValue(unit)} (a hint naming another file is refused)`;
    strict.check('file.path', pathHint, namesUnit, expected);
  }
  return {
    alertId,
    host,
    unit,
    pathHint,
    writer: alert.process && writerOf(alert.process, strict),
    user: { id: evidence(alert.user.id, EVIDENCE_MAX.userId), name: evidence(alert.user.name, EVIDENCE_MAX.userName) },
  };
}

function writerOf(process: AlertProcess, strict: StrictFields): TargetProcess {
  const pidExpected = `a process id (an integer from 1 to ${PID_MAX})`;
  return {
    pid: strict.optional('process.pid', process.pid, isPid, pidExpected),
    entityId: evidence(process.entityId, EVIDENCE_MAX.entityId),
    executable: evidence(process.executable, EVIDENCE_MAX.executable),
    commandLine: evidence(process.commandLine, EVIDENCE_MAX.commandLine),
    parent: process.parent && {
      pid: strict.optional('process.parent.pid', process.parent.pid, isPid, pidExpected),
      entityId: evidence(process.parent.entityId, EVIDENCE_MAX.entityId),
      executable: evidence(process.parent.executable, EVIDENCE_MAX.executable),
    },
  };
}

const isAlertId = (id: string): boolean => ALERT_ID.test(id);
const isHostId = (id: string): boolean => HOST_ID.test(id);

function isServiceUnit(name: string): boolean {
  return isUnitName(name) && name.endsWith('.service');
}

type Grammar<T> = (value: T) => boolean;

/** Grammar checks of strict fields; a failure refuses the alert, naming the field's JSON path. */
class StrictFields {
  constructor(private readonly source: string) {}

  check<T>(field: string, value: T, valid: Grammar<T>, expected: string, advice = FORGED): T {
    if (!valid(value)) this.refuse(field, `${renderValue(value)} is not ${expected}`, advice);
    return value;
  }

  required(field: string, value: string | undefined, valid: Grammar<string>, expected: string, advice?: string) {
    if (value === undefined) {
      this.refuse(field, `missing: soar needs ${expected} here to act`, 'send an alert that records it');
    }
    return this.check(field, value, valid, expected, advice);
  }

  optional<T>(field: string, value: T | undefined, valid: Grammar<T>, expected: string): T | undefined {
    return value === undefined ? undefined : this.check(field, value, valid, expected);
  }

  addresses(field: string, addresses: string[]): string[] {
    if (addresses.length > MAX_ADDRESSES) {
      this.refuse(field, `holds ${addresses.length} addresses, more than ${MAX_ADDRESSES}`, FORGED);
    }
    const index = addresses.findIndex((address) => !isIpAddress(address));
    const bad = addresses[index];
    if (bad !== undefined) {
      const problem = `element ${index}, ${renderValue(bad)}, is not a literal IPv4 or IPv6 address (without a zone)`;
      this.refuse(field, problem, FORGED);
    }
    return addresses;
  }

  private refuse(field: string, problem: string, advice: string): never {
    const message = `${problem}. The alert is refused and nothing was run: ${advice}`;
    throw new InvalidFieldError(jsonPath(this.source, field), message);
  }
}

/** Evidence text, kept as it is when printable, visible and short, else escaped or cut with a note. */
function evidence(value: string | undefined, maxLength: number): string | undefined {
  if (value === undefined) return undefined;
  const visible = isPrintableText(value, Number.POSITIVE_INFINITY) && isVisibleText(value);
  if (visible && isPrintableText(value, maxLength)) return value;
  if (visible) {
    return `${Array.from(value).slice(0, maxLength).join('')}… [soar: cut, ${value.length} characters in the alert]`;
  }
  return `[soar: unprintable characters, shown JSON-escaped] ${renderValue(value, maxLength)}`;
}
