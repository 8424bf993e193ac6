import type { PlannedCommand } from '../actions/action.js';
import { sha256Hex } from '../canonical-json.js';
import type { Command } from '../command/command.js';
import { commandLine, shellQuote } from '../command/quote.js';
import { remoteInvocation } from '../command/remote.js';
import type { Plan, PlannedStep } from './plan.js';

/** A script passed as `sh -c SCRIPT name args…`, shown by name and hash instead of in full. */
interface ScriptRef {
  name: string;
  sha256: string;
  text: string;
}

function scriptOf(command: Command): ScriptRef | undefined {
  const [program, flag, text, name] = command.argv;
  if (program !== 'sh' || flag !== '-c' || text === undefined || name === undefined) return undefined;
  return { name: name.replace(/^soar-/, ''), sha256: sha256Hex(text), text };
}

/** The exact line sent for a host command, with the script body abbreviated as <name.sh>. */
export function displayLine(command: Command, user: string): string {
  const script = scriptOf(command);
  const { argv, line } = remoteInvocation(command, user);
  if (!script) return line;
  const scriptIndex = argv.length - command.argv.length + 2;
  return argv.map((arg, index) => (index === scriptIndex ? `<${script.name}.sh>` : shellQuote(arg))).join(' ');
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function approvalText(step: PlannedStep): string {
  const policy = step.approval;
  if (!policy) return 'none';
  const who = policy.roles.length > 0 ? `role ${policy.roles.join(' or ')}` : 'any approver';
  return `${policy.count} of ${who}, expires after ${formatDuration(policy.expiresMs)}`;
}

function nextText(step: PlannedStep): string {
  const entries = Object.entries(step.next);
  if (entries.length === 0) return 'end';
  return entries.map(([outcome, target]) => (outcome === 'default' ? `otherwise → ${target}` : `${outcome} → ${target}`)).join(', ');
}

function commandText(planned: PlannedCommand, user: string): string[] {
  switch (planned.where) {
    case 'host':
      return [`$ ${displayLine(planned.command, user)}`, ...(planned.command.stdin ? [`  (stdin: ${planned.command.stdin.length} bytes, sha256 ${sha256Hex(planned.command.stdin).slice(0, 16)}…)`] : [])];
    case 'local':
      return [`local$ ${commandLine(planned.command.argv)}`];
    case 'http':
      return [`${planned.request.method} ${planned.request.url}`];
    case 'audit':
      return ['(recorded in the audit trail)'];
  }
}

/** The plan as an analyst reads it: every step, its gate, and the exact programs it runs. */
export function renderPlanText(plan: Plan, options: { scripts: boolean }): string {
  const { target } = plan;
  const user = plan.host?.user ?? 'root';
  const lines: string[] = [];
  lines.push(`Plan ${plan.runId} for alert ${plan.alert.id}`);
  lines.push(`  rule      ${plan.alert.rule.name ?? '(unnamed)'} (${plan.alert.rule.ruleId ?? 'no rule id'}), ${plan.alert.timestamp}`);
  lines.push(`  playbook  ${plan.playbook.id}: ${plan.playbook.title}`);
  const ids = [target.host.id && `id ${target.host.id}`, ...target.host.addresses].filter(Boolean).join(', ');
  lines.push(`  host      ${target.host.name}${ids ? ` (${ids})` : ''}`);
  lines.push(`  unit      ${target.unit}${target.pathHint ? `, written at ${target.pathHint} (a hint: triage asks systemd)` : ''}`);
  if (target.writer) {
    const writer = target.writer;
    lines.push(`  writer    pid ${writer.pid ?? '?'} ${writer.executable ?? ''} ${writer.commandLine ? `"${writer.commandLine}"` : ''} (evidence only, never killed blindly)`.trimEnd());
  }
  lines.push(
    plan.host
      ? `  reach     ${user}@${plan.host.address}:${plan.host.port}${plan.host.jump ? ` via ${plan.host.jump}` : ''}`
      : `  reach     ${target.host.name} is not in the inventory: soar run would refuse (give --config)`,
  );
  lines.push(`  plan hash ${plan.hash}`);
  const scripts = new Map<string, ScriptRef>();
  plan.steps.forEach((step, index) => {
    lines.push('');
    lines.push(`${index + 1}. ${step.id} [${step.action}]${step.destructive ? ' (changes the host)' : ''}`);
    lines.push(`   ${step.summary}`);
    lines.push(`   approval: ${approvalText(step)} · timeout ${formatDuration(step.timeoutMs)} · retries ${step.retries.max} · on failure: ${step.onFailure}`);
    lines.push(`   then: ${nextText(step)}`);
    lines.push(`   step hash ${step.hash}`);
    for (const planned of step.commands) {
      lines.push(`   - ${planned.purpose}`);
      for (const line of commandText(planned, user)) lines.push(`     ${line}`);
      if (planned.where === 'host') {
        const script = scriptOf(planned.command);
        if (script) scripts.set(script.name, script);
      }
    }
  });
  lines.push('');
  lines.push('Scripts (each runs as the single argument of sh -c; alert values are only its $1, $2, …):');
  for (const script of scripts.values()) {
    lines.push(`  ${script.name}.sh  sha256 ${script.sha256}  ${script.text.length} bytes`);
  }
  if (options.scripts) {
    for (const script of scripts.values()) {
      lines.push('', `----- ${script.name}.sh (sha256 ${script.sha256}) -----`, script.text.trimEnd());
    }
  } else {
    lines.push('  (print them in full with --scripts)');
  }
  return `${lines.join('\n')}\n`;
}

/** The plan for machines: everything, with each host command's exact line as sent by ssh. */
export function planToJson(plan: Plan): unknown {
  const user = plan.host?.user ?? 'root';
  return {
    ...plan,
    steps: plan.steps.map((step) => ({
      ...step,
      commands: step.commands.map((planned) =>
        planned.where === 'host' ? { ...planned, line: remoteInvocation(planned.command, user).line } : planned,
      ),
    })),
  };
}
