import { initialTransition, transition } from 'xstate';
import { deepFreeze } from '../deep-freeze.js';
import { INTENT_TYPES, type PlaybookMachine, type RunContext, type RunEvent, type RunIntent } from '../playbook/compile.js';

/** A run's machine state as stored: plain JSON, restorable with `machine.resolveState`. */
export type MachineSnapshot = { status: string; value: unknown; context: RunContext } & Record<string, unknown>;

export interface Transition {
  snapshot: MachineSnapshot;
  /** Where the machine is now, e.g. `"triage"` or `{"isolate": "approval"}`. */
  state: unknown;
  context: RunContext;
  intents: RunIntent[];
}

function toTransition(machine: PlaybookMachine, next: ReturnType<typeof initialTransition<PlaybookMachine>>): Transition {
  const [snapshot, actions] = next;
  const intents = actions
    .filter((action) => INTENT_TYPES.has(action.type as RunIntent['type']))
    .map((action) => ({ type: action.type, params: action.params }) as RunIntent);
  return { snapshot: machine.getPersistedSnapshot(snapshot) as unknown as MachineSnapshot, state: snapshot.value, context: snapshot.context, intents };
}

/** Each machine's first transition: nothing of the alert enters it, so every run of the machine shares it. */
const firstOf = new WeakMap<PlaybookMachine, Transition>();

/**
 * The first state of a run and what the runtime must do there. Pure: nothing is executed. Worked
 * out once per machine (a tenth of an admission's time) and frozen, as runs share it.
 */
export function beginRun(machine: PlaybookMachine): Transition {
  let first = firstOf.get(machine);
  if (!first) {
    first = deepFreeze(toTransition(machine, initialTransition(machine)));
    firstOf.set(machine, first);
  }
  return first;
}

/** The state after an event and what the runtime must do next. Pure: nothing is executed. */
export function advanceRun(machine: PlaybookMachine, snapshot: MachineSnapshot, event: RunEvent): Transition {
  return toTransition(machine, transition(machine, machine.resolveState(snapshot as Parameters<PlaybookMachine['resolveState']>[0]), event));
}
