import type { ActionDefinition } from '../actions/action.js';
import type { Trigger } from '../alert/trigger.js';
import {
  formatPath,
  issueError,
  parseLocatedYaml,
  parseWithSchema,
  readLocatedYaml,
  YamlFileError,
  type LocatedDocument,
} from '../yaml/located.js';
import { routesOf } from './routes.js';
import { PLAYBOOK_SCHEMA, type OnFailure, type PlaybookFile, type StepFile } from './schema.js';

export interface ApprovalPolicy {
  count: number;
  /** Roles from the config's approvers; empty means any approver. */
  roles: string[];
  expiresMs: number;
}

export interface Step {
  id: string;
  action: string;
  /** Parsed by the action's own params schema. */
  with: unknown;
  timeoutMs: number;
  retries: { max: number; backoffMs: number; factor: number };
  onFailure: OnFailure;
  approval: ApprovalPolicy | undefined;
  /** Every outcome of the action, `default` (and `failed` under on_failure: continue) → step id or `end`. */
  next: Record<string, string>;
}

export interface Playbook {
  id: string;
  title: string;
  description: string | undefined;
  trigger: Trigger;
  escalation: string | undefined;
  steps: Step[];
  file: string;
}

export type ActionRegistry = ReadonlyMap<string, ActionDefinition>;

export async function loadPlaybook(file: string, actions: ActionRegistry): Promise<Playbook> {
  return fromDocument(await readLocatedYaml(file), actions);
}

export function parsePlaybook(text: string, file: string, actions: ActionRegistry): Playbook {
  return fromDocument(parseLocatedYaml(text, file), actions);
}

type Fail = (code: string, path: readonly PropertyKey[], message: string, part?: 'key') => never;

/** Each check throws the first problem it finds, located in the file, so a user fixes one at a time. */
function fromDocument(document: LocatedDocument, actions: ActionRegistry): Playbook {
  const fail: Fail = (code, path, message, part) => {
    throw new YamlFileError(code, document.locate(path, part), `${formatPath(path)}: ${message}`);
  };
  const file = parseWithSchema(document, PLAYBOOK_SCHEMA, 'PLAYBOOK_INVALID');
  checkUniqueIds(file, fail);
  const ids = file.steps.map((step) => step.id);
  const steps = file.steps.map((step, index) =>
    resolveStep(step, ['steps', index], ids[index + 1] ?? 'end', { document, ids, actions, escalation: file.escalation, fail }),
  );
  const playbook: Playbook = {
    id: file.playbook,
    title: file.title,
    description: file.description,
    trigger: file.trigger,
    escalation: file.escalation,
    steps,
    file: document.file,
  };
  checkEscalation(playbook, file, fail);
  checkGraph(playbook, file, fail);
  return playbook;
}

function checkUniqueIds(file: PlaybookFile, fail: Fail): void {
  const seen = new Map<string, number>();
  file.steps.forEach((step, index) => {
    const earlier = seen.get(step.id);
    if (earlier !== undefined) {
      fail('PLAYBOOK_DUPLICATE_STEP', ['steps', index, 'id'], `step id "${step.id}" is already used by steps[${earlier}]; give each step its own id`);
    }
    seen.set(step.id, index);
  });
}

interface StepScope {
  document: LocatedDocument;
  ids: readonly string[];
  actions: ActionRegistry;
  escalation: string | undefined;
  fail: Fail;
}

function resolveStep(step: StepFile, at: readonly PropertyKey[], following: string, scope: StepScope): Step {
  const { actions, fail } = scope;
  const action = actions.get(step.action);
  if (action === undefined) {
    return fail('PLAYBOOK_UNKNOWN_ACTION', [...at, 'action'], `unknown action "${step.action}"; known actions: ${[...actions.keys()].sort().join(', ')}`);
  }
  const params = action.params.safeParse(step.with ?? {}, { reportInput: true });
  if (!params.success) throw issueError(scope.document, 'PLAYBOOK_INVALID_PARAMS', params.error.issues[0]!, [...at, 'with']);
  const onFailure = effectiveOnFailure(step, at, scope);
  return {
    id: step.id,
    action: action.name,
    with: params.data,
    timeoutMs: step.timeout,
    retries: { max: step.retries.max, backoffMs: step.retries.backoff, factor: step.retries.factor },
    onFailure,
    approval: step.approval,
    next: resolveNext(step, action, onFailure, at, following, scope),
  };
}

/** The escalation step's failure always ends the run as failed; it may not loop back or carry on. */
function effectiveOnFailure(step: StepFile, at: readonly PropertyKey[], scope: StepScope): OnFailure {
  if (step.id !== scope.escalation) return step.on_failure ?? 'escalate';
  if (step.on_failure === 'escalate' || step.on_failure === 'continue') {
    scope.fail(
      'PLAYBOOK_ESCALATION_LOOP',
      [...at, 'on_failure'],
      `the escalation step cannot use on_failure: ${step.on_failure}; if escalating fails the run ends as failed, so remove on_failure or set it to abort`,
    );
  }
  if (step.approval !== undefined) {
    scope.fail('PLAYBOOK_ESCALATION_LOOP', [...at, 'approval'], 'the escalation step cannot wait for an approval: a denial would escalate to itself; remove the approval');
  }
  return 'abort';
}

/** Unlisted outcomes fall through to `default`, else to the step that follows in the list. */
function resolveNext(
  step: StepFile,
  action: ActionDefinition,
  onFailure: OnFailure,
  at: readonly PropertyKey[],
  following: string,
  { ids, fail }: StepScope,
): Record<string, string> {
  const written: Record<string, string> = typeof step.next === 'string' ? { default: step.next } : (step.next ?? {});
  const keys = [...action.outcomes, 'default', ...(onFailure === 'continue' ? ['failed'] : [])];
  for (const [key, target] of Object.entries(written)) {
    const path = typeof step.next === 'string' ? [...at, 'next'] : [...at, 'next', key];
    if (!keys.includes(key)) {
      const hint = key === 'failed' ? ' (failed is allowed only with on_failure: continue)' : '';
      fail('PLAYBOOK_UNKNOWN_OUTCOME', path, `"${key}" is not an outcome of action ${action.name}${hint}; expected one of: ${keys.join(', ')}`, 'key');
    }
    if (target !== 'end' && !ids.includes(target)) {
      fail('PLAYBOOK_UNKNOWN_STEP', path, `no step "${target}"; expected end or one of: ${ids.join(', ')}`);
    }
  }
  const fallback = Object.hasOwn(written, 'default') ? written.default! : following;
  return Object.fromEntries(keys.map((key) => [key, Object.hasOwn(written, key) ? written[key]! : fallback]));
}

function checkEscalation(playbook: Playbook, file: PlaybookFile, fail: Fail): void {
  const { escalation, steps } = playbook;
  if (escalation !== undefined) {
    if (!steps.some((step) => step.id === escalation)) {
      fail('PLAYBOOK_UNKNOWN_STEP', ['escalation'], `no step "${escalation}"; expected one of: ${steps.map((step) => step.id).join(', ')}`);
    }
    return;
  }
  const index = steps.findIndex((step) => step.onFailure === 'escalate' || step.approval !== undefined);
  const step = steps[index];
  if (step === undefined) return;
  const add = 'add `escalation: <step id>` to the playbook';
  if (step.approval !== undefined) {
    fail('PLAYBOOK_ESCALATION_MISSING', ['steps', index, 'approval'], `step "${step.id}" waits for an approval, whose denial or expiry escalates, but the playbook names no escalation step; ${add}`);
  }
  const defaulted = file.steps[index]!.on_failure === undefined ? ' (on_failure defaults to escalate)' : '';
  fail(
    'PLAYBOOK_ESCALATION_MISSING',
    ['steps', index, 'on_failure'],
    `step "${step.id}" escalates when it fails${defaulted}, but the playbook names no escalation step; ${add}, or set on_failure: continue or abort`,
  );
}

/** Every step must be reachable from the first, and no path may come back to a step it left. */
function checkGraph(playbook: Playbook, file: PlaybookFile, fail: Fail): void {
  const position = new Map(playbook.steps.map((step, index) => [step.id, index]));

  // Depth-first from the first step; an edge to a step still on the path closes a loop.
  const state = new Map<string, 'open' | 'closed'>();
  const visit = (step: Step): void => {
    state.set(step.id, 'open');
    const index = position.get(step.id)!;
    for (const route of routesOf(step, playbook)) {
      const next = position.has(route.to) ? playbook.steps[position.get(route.to)!]! : undefined;
      if (next === undefined || state.get(next.id) === 'closed') continue;
      if (state.get(next.id) === 'open') {
        fail(
          'PLAYBOOK_LOOP',
          ['steps', index, ...edgeKey(file.steps[index]!, route.when)],
          `step "${step.id}" leads back to step "${next.id}" (${route.when}); a playbook must not loop, so route it forward or to end`,
        );
      }
      visit(next);
    }
    state.set(step.id, 'closed');
  };
  visit(playbook.steps[0]!);

  const unreachable = playbook.steps.findIndex((step) => !state.has(step.id));
  if (unreachable !== -1) {
    const { id } = playbook.steps[unreachable]!;
    fail('PLAYBOOK_UNREACHABLE_STEP', ['steps', unreachable, 'id'], `no step leads to "${id}"; route an outcome to it with next, or remove it`);
  }
}

/** Where in a step's text an edge was written; a fall-through to the following step is the step itself. */
function edgeKey(step: StepFile, when: string): PropertyKey[] {
  if (when === 'denied' || when === 'expired') return ['approval'];
  if (when === 'failure') return step.on_failure === undefined ? ['id'] : ['on_failure'];
  const { next } = step;
  if (typeof next === 'string') return ['next'];
  const written = [when, 'default'].find((key) => next !== undefined && Object.hasOwn(next, key));
  return written === undefined ? ['id'] : ['next', written];
}
