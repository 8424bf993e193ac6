import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { RemoteLine, SshEndpoint } from '../lib/ssh-floor.js';

/** A host Ansible responds on, with the plan's lines for it. */
export interface AnsibleTarget {
  name: string;
  endpoint: SshEndpoint;
  lines: RemoteLine[];
}

/** The playbook failed on some host: its status and the tail of its output say which task. */
export class AnsibleRunFailed extends Error {
  constructor(exitCode: number | undefined, output: string) {
    super(`ansible-playbook exited ${exitCode ?? 'by a signal'}: ${output.trim().split('\n').slice(-15).join('\n')}`);
  }
}

/** Installs ansible-core from Debian when missing, as the lab installs its own packages. */
export async function ensureAnsible(): Promise<string> {
  const found = await execa('ansible-playbook', ['--version'], { reject: false });
  if (found.exitCode !== 0) {
    await execa('apt-get', ['install', '-y', '--no-install-recommends', 'ansible-core'], {
      env: { DEBIAN_FRONTEND: 'noninteractive' },
      stdout: 'ignore',
    });
  }
  const version = await execa('ansible-playbook', ['--version']);
  return version.stdout.split('\n')[0] ?? 'ansible-playbook';
}

// A YAML double-quoted scalar is a JSON string; !unsafe keeps Jinja from templating script text.
const unsafe = (text: string): string => `!unsafe ${JSON.stringify(text)}`;

function inventoryOf(targets: AnsibleTarget[]): string {
  const lines = ['all:', '  hosts:'];
  for (const target of targets) {
    lines.push(`    ${target.name}:`);
    lines.push(`      ansible_host: ${target.endpoint.address}`);
    lines.push(`      ansible_port: ${target.endpoint.port}`);
    lines.push(`      ansible_user: ${target.endpoint.user}`);
    lines.push(`      ansible_ssh_private_key_file: ${JSON.stringify(target.endpoint.identityFile)}`);
    target.lines.forEach((line, index) => {
      lines.push(`      soar_line_${index}: ${unsafe(line.line)}`);
      if (line.stdin !== undefined) lines.push(`      soar_stdin_${index}: ${unsafe(line.stdin)}`);
    });
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The equivalent playbook: every line as a shell task in plan order, the fresh-connection proof
 * after a connection reset. The shape comes from the first host; every host must share it.
 */
function playbookOf(targets: AnsibleTarget[]): string {
  const shape = targets[0]?.lines ?? [];
  for (const target of targets) {
    const same = target.lines.length === shape.length && target.lines.every((line, i) => line.fresh === shape[i]?.fresh && (line.stdin === undefined) === (shape[i]?.stdin === undefined));
    if (!same) throw new Error(`the plan for ${target.name} has another shape than ${targets[0]?.name}: one playbook cannot run both`);
  }
  const tasks: string[] = [];
  shape.forEach((line, index) => {
    if (line.fresh) tasks.push('    - name: new connection', '      ansible.builtin.meta: reset_connection');
    tasks.push(`    - name: ${JSON.stringify(line.purpose)}`);
    tasks.push(`      ansible.builtin.shell: "{{ soar_line_${index} }}"`);
    if (line.stdin !== undefined) {
      tasks.push('      args:', `        stdin: "{{ soar_stdin_${index} }}"`, '        stdin_add_newline: false');
    }
  });
  return ['- name: respond to the mining alert', '  hosts: all', '  gather_facts: false', '  tasks:', ...tasks, ''].join('\n');
}

function configOf(dir: string, knownHostsPath: string): string {
  const sshArgs = [
    '-o ControlMaster=auto',
    '-o ControlPersist=60s',
    '-o BatchMode=yes',
    '-o StrictHostKeyChecking=yes',
    `-o UserKnownHostsFile=${knownHostsPath}`,
    '-o GlobalKnownHostsFile=/dev/null',
    '-o IdentitiesOnly=yes',
  ].join(' ');
  return [
    '[defaults]',
    'interpreter_python = /usr/bin/python3',
    'host_key_checking = True',
    'retry_files_enabled = False',
    `local_tmp = ${join(dir, 'tmp')}`,
    '[ssh_connection]',
    'pipelining = True',
    `ssh_args = ${sshArgs}`,
    `control_path_dir = ${join(dir, 'cp')}`,
    '',
  ].join('\n');
}

/** Writes ansible.cfg, the inventory and the playbook for these targets into `dir`. */
export async function writeAnsibleProject(dir: string, targets: AnsibleTarget[]): Promise<void> {
  const knownHosts = new Set(targets.map((target) => target.endpoint.knownHostsPath));
  if (knownHosts.size !== 1) throw new Error('one Ansible project pins one known_hosts file');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'ansible.cfg'), configOf(dir, [...knownHosts][0]!));
  await writeFile(join(dir, 'inventory.yaml'), inventoryOf(targets));
  await writeFile(join(dir, 'respond.yaml'), playbookOf(targets));
}

/** The argv that runs the project in `dir` with `forks` hosts at once (ANSIBLE_CONFIG in `ansibleEnv`). */
export function ansibleArgv(dir: string, forks: number): string[] {
  return ['ansible-playbook', '-i', join(dir, 'inventory.yaml'), '--forks', String(forks), join(dir, 'respond.yaml')];
}

export function ansibleEnv(dir: string): Record<string, string> {
  return { ANSIBLE_CONFIG: join(dir, 'ansible.cfg'), ANSIBLE_HOME: join(dir, 'home'), ANSIBLE_NOCOLOR: '1' };
}
