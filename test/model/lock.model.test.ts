/**
 * Model-based test of the single-instance lock (one mailer per order folder
 * per machine), with real processes: every path of the model below runs
 * mailer-like child processes that take the real lock (test/helpers/
 * lock-child.ts) on a real folder, and checks at each state who holds it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { isProcessAlive } from '../../src/io/host/lock.js';
import { expectStopped, stopsCleanly } from '../helpers/cli.js';
import { ModelRules } from './model-rules.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';

afterAll(removeTmpDirs);

const CHILD = fileURLToPath(new URL('../helpers/lock-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOST = 'model-host';

const lockModel = setup({
  types: { events: {} as { type: 'A_START' | 'B_START' | 'B_START_REFUSED' | 'A_STOP' | 'A_CRASH' } },
}).createMachine({
  id: 'lock',
  initial: 'free',
  states: {
    free: { on: { A_START: 'heldByA' } },
    heldByA: { on: { B_START_REFUSED: 'bRefused', A_STOP: 'released', A_CRASH: 'crashed' } },
    bRefused: { on: { A_STOP: 'released', A_CRASH: 'crashed' } },
    released: { on: { B_START: 'heldByB' } },
    crashed: { on: { B_START: 'heldByB' } },
    heldByB: { type: 'final' },
  },
});

interface Started {
  child: ChildProcess;
  line: Promise<{ locked?: number; running?: { pid: number } }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ms: () => number;
}

function startChild(workDir: string): Started {
  const t0 = Date.now();
  let firstLineAt = 0;
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, workDir, HOST], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const line = new Promise<{ locked?: number; running?: { pid: number } }>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        firstLineAt = Date.now();
        resolve(JSON.parse(out.slice(0, nl)));
      }
    });
    child.on('exit', (code) => (out.includes('\n') ? undefined : reject(new Error(`child exited ${code} silently`))));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, line, exited, ms: () => firstLineAt - t0 };
}

class LockWorld {
  a?: Started;
  b?: Started;
  constructor(readonly workDir: string) {}
  get lockDir() {
    return path.join(this.workDir, `instance-${HOST}.lock`);
  }
  async owner(): Promise<number | undefined> {
    try {
      return (JSON.parse(await readFile(path.join(this.workDir, `instance-${HOST}.owner.json`), 'utf8')) as { pid: number }).pid;
    } catch {
      return undefined;
    }
  }
  kill() {
    for (const s of [this.a, this.b]) if (s && s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  }
}

// ---- the model's events, run with real processes ----
const execs: Record<string, (w: LockWorld) => unknown> = {
  A_START: async (w) => {
    w.a = startChild(w.workDir);
    expect((await w.a.line).locked).toBe(w.a.child.pid);
  },
  B_START_REFUSED: async (w) => {
    const b = startChild(w.workDir);
    expect((await b.line).running?.pid).toBe(w.a!.child.pid);
    expect((await b.exited).code).toBe(3);
    expect(b.ms()).toBeLessThan(5_000);
  },
  // Stopped as a service is: SIGTERM on POSIX (clean), terminated on Windows (Task Scheduler's End).
  A_STOP: async (w) => {
    w.a!.child.kill('SIGTERM');
    expectStopped(await w.a!.exited);
  },
  A_CRASH: async (w) => {
    w.a!.child.kill('SIGKILL');
    await w.a!.exited;
  },
  B_START: async (w) => {
    const started = Date.now();
    w.b = startChild(w.workDir);
    expect((await w.b.line).locked).toBe(w.b.child.pid);
    // A lock left by a dead process does not make a restart wait for it to go stale.
    expect(Date.now() - started).toBeLessThan(5_000);
  },
};

// ---- the model's states, checked on the lock folder ----
const checks: Record<string, (w: LockWorld) => unknown> = {
  free: async (w) => expect(existsSync(w.lockDir)).toBe(false),
  heldByA: async (w) => {
    expect(await w.owner()).toBe(w.a!.child.pid);
    expect(existsSync(w.lockDir)).toBe(true);
  },
  bRefused: async (w) => expect(await w.owner()).toBe(w.a!.child.pid),
  released: async (w) => {
    if (stopsCleanly) {
      expect(existsSync(w.lockDir)).toBe(false);
    } else {
      // Terminated: the lock stays until the next start, which takes it at once (B_START).
      expect(isProcessAlive(w.a!.child.pid!)).toBe(false);
      expect(existsSync(w.lockDir)).toBe(true);
    }
  },
  crashed: async (w) => {
    expect(isProcessAlive(w.a!.child.pid!)).toBe(false);
    expect(existsSync(w.lockDir)).toBe(true); // left behind: the next start must cope
  },
  heldByB: async (w) => expect(await w.owner()).toBe(w.b!.child.pid),
};

const rules = new ModelRules<LockWorld>(lockModel, checks, execs);
const model = createTestModel(lockModel);
const paths = [...new Map([...model.getShortestPaths(), ...model.getSimplePaths()].map((p) => [p.description, p])).values()];

describe('single-instance lock, model-based, with real processes', () => {
  it('has a check for every model state and an exec for every model event', () => {
    expect(rules.missing()).toEqual({ statesWithoutCheck: [], eventsWithoutExec: [], strayChecks: [], strayExecs: [] });
  });

  for (const testPath of paths) {
    it(testPath.description, async () => {
      const w = new LockWorld(await makeTmpDir('proscai-lock-model-'));
      try {
        await testPath.test(rules.params(w) as Parameters<typeof testPath.test>[0]);
        rules.walkedPath(testPath.steps);
      } finally {
        w.kill();
      }
    });
  }

  it('walked every model transition, checked every model state and executed every model event', () => {
    expect(rules.unwalked()).toEqual({ transitions: [], states: [], events: [] });
  });
});
