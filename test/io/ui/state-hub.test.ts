/**
 * The status window's shared state (src/io/ui/state-hub.ts): computed at most
 * about once a second and only while a window is open, one computation for
 * every client, and a client that does not read never receives more than the
 * latest state once it drains.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createStateHub, type StateHub } from '../../../src/io/ui/state-hub.js';

/** A response whose socket buffer is full (write returns false) while `full` is set. */
class FakeResponse extends EventEmitter {
  written: string[] = [];
  full = false;
  destroyed = false;
  write(chunk: string): boolean {
    this.written.push(chunk);
    return !this.full;
  }
  end(): void {
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  states(): unknown[] {
    return this.written.filter((c) => c.startsWith('event: state')).map((c) => JSON.parse(c.split('\ndata: ')[1]!));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hubs: StateHub[] = [];
afterEach(() => hubs.splice(0).forEach((h) => h.close()));

function counted(options: Partial<Parameters<typeof createStateHub>[0]> = {}) {
  let computations = 0;
  const hub = createStateHub({
    compute: async () => {
      const n = ++computations;
      return { json: (lang) => JSON.stringify({ n, lang }) };
    },
    minIntervalMs: 200,
    refreshMs: 60_000,
    ...options,
  });
  hubs.push(hub);
  return { hub, computations: () => computations };
}

describe('state hub', () => {
  it('computes nothing while no window is open, however often something changes', async () => {
    const { hub, computations } = counted();
    for (let i = 0; i < 20; i++) hub.changed();
    await sleep(500);
    expect(computations()).toBe(0);
  });

  it('shares one computation among clients and computes at most once per interval', async () => {
    const { hub, computations } = counted();
    const clients = Array.from({ length: 5 }, (_, i) => new FakeResponse());
    clients.forEach((c, i) => hub.attach(c as unknown as ServerResponse, i % 2 === 0 ? 'es' : 'en'));
    await sleep(50);
    expect(computations()).toBe(1);
    expect(clients[1]!.states()).toEqual([{ n: 1, lang: 'en' }]);
    const started = Date.now();
    while (Date.now() - started < 1000) {
      hub.changed();
      await sleep(10);
    }
    await sleep(700); // the settle rounds after the last change
    // One per 200 ms over about 1.6 s, plus the first: never one per change (about 100 changes).
    expect(computations()).toBeGreaterThanOrEqual(4);
    expect(computations()).toBeLessThanOrEqual(11);
    for (const client of clients) expect(client.states().length).toBe(computations());
    expect(await hub.current()).toBeDefined();
  });

  it('a window opened after a change still gets the follow-up states of that change', async () => {
    // The log is written in batches: the first computation may not see the change yet.
    const { hub, computations } = counted({ settleRounds: 3 });
    hub.changed();
    await sleep(300);
    expect(computations()).toBe(0);
    const client = new FakeResponse();
    hub.attach(client as unknown as ServerResponse, 'es');
    await sleep(800); // the first state at once, then the settle rounds 200 ms apart (refreshMs is a minute)
    expect(computations()).toBeGreaterThanOrEqual(3);
    expect(client.states().length).toBe(computations());
  });

  it('pushes a change within the interval', async () => {
    const { hub } = counted();
    const client = new FakeResponse();
    hub.attach(client as unknown as ServerResponse, 'es');
    await sleep(300);
    const before = client.states().length;
    const changedAt = Date.now();
    hub.changed();
    while (client.states().length === before) await sleep(5);
    expect(Date.now() - changedAt).toBeLessThan(400);
  });

  it('a client whose buffer is full gets nothing more until it drains, then only the latest state', async () => {
    const { hub } = counted();
    const slow = new FakeResponse();
    const fast = new FakeResponse();
    hub.attach(slow as unknown as ServerResponse, 'es');
    hub.attach(fast as unknown as ServerResponse, 'es');
    await sleep(50);
    slow.full = true;
    hub.changed();
    await sleep(300);
    const writtenWhenFull = slow.written.length; // the write that filled it
    for (let i = 0; i < 5; i++) {
      hub.changed();
      await sleep(250);
    }
    expect(slow.written.length).toBe(writtenWhenFull);
    expect(fast.states().length).toBeGreaterThan(5);
    slow.full = false;
    slow.emit('drain');
    const latest = fast.states().at(-1);
    expect(slow.states().at(-1)).toEqual(latest);
    expect(slow.written.length).toBe(writtenWhenFull + 1);
  });

  it('drops a client that stays full for stuckMs', async () => {
    const { hub } = counted({ stuckMs: 300, heartbeatMs: 100 });
    const stuck = new FakeResponse();
    hub.attach(stuck as unknown as ServerResponse, 'es');
    await sleep(50);
    stuck.full = true;
    hub.changed();
    await sleep(800);
    expect(stuck.destroyed).toBe(true);
    expect(hub.clientCount()).toBe(0);
  });
});
