import { initialTransition, transition } from 'xstate';
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

/** The first state of a run and what the runtime must do there. Pure: nothing is executed. */
export function beginRun(machine: PlaybookMachine): Transition {
  return toTransition(machine, initialTransition(machine));
}

/** The state after an event and what the runtime must do next. Pure: nothing is executed. */
export function advanceRun(machine: PlaybookMachine, snapshot: MachineSnapshot, event: RunEvent): Transition {
  return toTransition(machine, transition(machine, machine.resolveState(snapshot as Parameters<PlaybookMachine['resolveState']>[0]), event));
}
