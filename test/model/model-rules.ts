/**
 * What every model-based test here holds to:
 *
 * - Every model state has a check and every model event an exec: xstate/graph
 *   silently skips a state without a check and an event without an exec, so
 *   a path could walk a state and prove nothing there. `ModelRules.missing()`
 *   names what has none (and any check or exec named after nothing in the
 *   model), and the test asserts it is empty.
 * - Every model transition is walked and every check and exec runs at least
 *   once (`ModelRules.unwalked()`).
 * - Every transition of the real machine under test is taken at least once
 *   (`transitionsOf` enumerates them from its definition, `TransitionRecorder`
 *   records the ones taken, from the inspection stream).
 */
import type { AnyStateMachine, InspectionEvent } from 'xstate';

interface TransitionLike {
  source: { id: string; always?: unknown[]; transitions: Map<string, unknown[]> };
  eventType: string;
  target?: { id: string }[];
}
interface NodeLike {
  key: string;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
  states?: Record<string, NodeLike>;
}

/**
 * One transition, named by its source node, its event (or `always`) and its
 * targets, and by its place among its event's candidates when there are
 * several (`[1]`: the second, taken when the first's guard is false).
 */
export function transitionKey(t: TransitionLike): string {
  const always = t.source.always?.includes(t) ?? false;
  const candidates = always ? t.source.always! : (t.source.transitions.get(t.eventType) ?? [t]);
  const place = candidates.length > 1 ? `[${candidates.indexOf(t)}]` : '';
  return `${t.source.id} --${always ? 'always' : t.eventType}${place}--> ${(t.target ?? []).map((n) => n.id).join(',')}`;
}

/** Every transition of a machine's definition, nested states included. */
export function transitionsOf(machine: AnyStateMachine): string[] {
  const keys: string[] = [];
  const visit = (node: NodeLike) => {
    for (const defs of node.transitions.values()) for (const d of defs) keys.push(transitionKey(d));
    for (const d of node.always ?? []) keys.push(transitionKey(d));
    for (const child of Object.values(node.states ?? {})) visit(child);
  };
  visit(machine.root as unknown as NodeLike);
  return keys;
}

/** Records the transitions the actors it is given to (by `belongs`) take. */
export class TransitionRecorder {
  readonly taken = new Set<string>();

  constructor(private readonly belongs: (event: InspectionEvent) => boolean) {}

  readonly record = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.microstep' || !this.belongs(event)) return;
    for (const t of (event as unknown as { _transitions: TransitionLike[] })._transitions) this.taken.add(transitionKey(t));
  };

  /** The machine's transitions never taken. */
  missing(machine: AnyStateMachine): string[] {
    return transitionsOf(machine).filter((k) => !this.taken.has(k));
  }

  /** "taken/all" of the machine's transitions, for the log. */
  coverage(machine: AnyStateMachine): string {
    const all = transitionsOf(machine);
    return `${all.filter((k) => this.taken.has(k)).length}/${all.length}`;
  }
}

type Check<W> = (world: W) => unknown;

/** A model machine's states (dotted paths), events and transitions (`state:EVENT`), from its definition. */
function shapeOf(model: AnyStateMachine) {
  const states: string[] = [];
  const events = new Set<string>();
  const transitions: string[] = [];
  const visit = (node: NodeLike, prefix: string) => {
    for (const [key, child] of Object.entries(node.states ?? {})) {
      const name = prefix ? `${prefix}.${key}` : key;
      states.push(name);
      for (const [type, defs] of child.transitions) {
        if (type.startsWith('xstate.')) continue;
        events.add(type);
        if (defs.length > 0) transitions.push(`${name}:${type}`);
      }
      visit(child, name);
    }
  };
  visit(model.root as unknown as NodeLike, '');
  return { states, events: [...events], transitions };
}

/**
 * The checks (by model state) and execs (by model event) of one model, and
 * what the run has walked of it.
 */
export class ModelRules<W> {
  private readonly shape: ReturnType<typeof shapeOf>;
  private readonly checked = new Set<string>();
  private readonly executed = new Set<string>();
  private readonly walked = new Set<string>();

  constructor(
    model: AnyStateMachine,
    private readonly checks: Record<string, Check<W>>,
    private readonly execs: Record<string, Check<W>>,
  ) {
    this.shape = shapeOf(model);
  }

  /** Model states without a check, events without an exec, and checks or execs that name nothing in the model. */
  missing(): { statesWithoutCheck: string[]; eventsWithoutExec: string[]; strayChecks: string[]; strayExecs: string[] } {
    const checkKeys = Object.keys(this.checks);
    const execKeys = Object.keys(this.execs);
    return {
      statesWithoutCheck: this.shape.states.filter((s) => !checkKeys.includes(s)),
      eventsWithoutExec: this.shape.events.filter((e) => !execKeys.includes(e)),
      strayChecks: checkKeys.filter((k) => !this.shape.states.includes(k)),
      strayExecs: execKeys.filter((k) => !this.shape.events.includes(k)),
    };
  }

  /** The `states` and `events` for `TestPath.test`, bound to one world, recording what runs. */
  params(world: W) {
    const states = Object.fromEntries(
      Object.entries(this.checks).map(([k, f]) => [
        k,
        async () => {
          this.checked.add(k);
          await f(world);
        },
      ]),
    );
    const events = Object.fromEntries(
      Object.entries(this.execs).map(([k, f]) => [
        k,
        async () => {
          this.executed.add(k);
          await f(world);
        },
      ]),
    );
    return { states, events };
  }

  /** Notes the model transitions of a path that ran to its end. */
  walkedPath(steps: readonly { state: { value: unknown }; event: { type: string } }[]): void {
    // Each step holds the state an event led to; the transition's source is the step before.
    for (let i = 1; i < steps.length; i++) this.walked.add(`${stateName(steps[i - 1]!.state.value)}:${steps[i]!.event.type}`);
  }

  /** Model transitions never walked, states never checked, events never executed. */
  unwalked(): { transitions: string[]; states: string[]; events: string[] } {
    return {
      transitions: this.shape.transitions.filter((t) => !this.walked.has(t)),
      states: this.shape.states.filter((s) => !this.checked.has(s)),
      events: this.shape.events.filter((e) => !this.executed.has(e)),
    };
  }

  /** How much of the model the run walked, for the log. */
  get size(): { states: number; events: number; transitions: number } {
    return { states: this.shape.states.length, events: this.shape.events.length, transitions: this.shape.transitions.length };
  }
}

function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value as Record<string, unknown>)[0]!;
  return `${key}.${stateName(child)}`;
}
