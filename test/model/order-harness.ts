/**
 * The system under test for the model-based run: one real order actor (the
 * real order machine provided with the real actors over the real store,
 * sender, notifier and a scripted real SMTP server) in a real temp folder,
 * under a minimal parent that grants a slot whenever one is asked for.
 *
 * `pass()` is one run of the mailer over the order (a new actor: a process
 * start); `live()` lets the current actor go on (the same process, its
 * timers firing). Both return when the order is done or waits on a timer.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createActor, fromPromise, sendTo, setup, type Actor, type ActorRefFrom, type InspectionEvent, type SnapshotFrom } from 'xstate';
import { createOrderActors } from '../../src/actors/order-actors.js';
import { createSender } from '../../src/actors/sender.js';
import { buildConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { resolveAttachments } from '../../src/io/store/attachments.js';
import { createNotifier } from '../../src/io/smtp/notifier.js';
import { createTransportPool } from '../../src/io/smtp/pool.js';
import type { TransportPool } from '../../src/io/smtp/transport-pool.js';
import { createOrderStore, type FsOrderStore } from '../../src/io/store/store.js';
import { orderMachine, type OrderStateName } from '../../src/machines/order.js';
import type { LoadOrderOutput, OrderInput } from '../../src/machines/order-context.js';
import { parseOrder } from '../../src/order/parse.js';
import type { Notifier } from '../../src/ports.js';
import { startScriptedSmtp, type ScriptedSmtp } from '../helpers/scripted-smtp.js';
import { makeTmpDir } from '../helpers/tmp.js';

export const ORDER = '_CFD_MAIL_REQ_MODEL.XML';
export const HOST = 'model-host';
export const ERROR_ADDRESS = 'sistemas@acme.example';
export type ServerMode = 'accept' | 'temp' | 'perm' | 'partial';


export function orderXml(port: number, opts: { valid: boolean; errorMail: boolean }): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<OrdenEnvio>
  <Empresa>ACME</Empresa>
  <SMTP><Servidor>127.0.0.1</Servidor><Puerto>${port}</Puerto><Seguridad>NINGUNA</Seguridad></SMTP>
  <Remitente>facturas@acme.example</Remitente>
  <Para>${opts.valid ? 'cliente@example.com; otro@example.com' : ''}</Para>
  <Asunto>Factura modelo</Asunto>
  <Cuerpo>Hola</Cuerpo>
  ${opts.errorMail ? `<CorreoErrores>${ERROR_ADDRESS}</CorreoErrores>` : ''}
</OrdenEnvio>`;
}

export class OrderHarness {
  mode: ServerMode = 'accept';
  server!: ScriptedSmtp;
  dir!: string;
  config!: Config;
  store!: FsOrderStore;
  private pool!: TransportPool;
  private notifier!: Notifier;
  private actor: Actor<AnyParent> | undefined;
  /** The next pass's process dies while reading the order (see passCrashing). */
  private crashing = false;

  constructor(private readonly inspect: (event: InspectionEvent) => void) {}

  async start(): Promise<void> {
    this.server = await startScriptedSmtp({ reply: (step) => this.reply(step.command, step.arg) });
    this.dir = await makeTmpDir('proscai-model-');
    this.config = buildConfig({ flags: { dir: this.dir }, env: {}, file: { retry: [1], hostId: HOST }, cwd: this.dir });
    this.store = createOrderStore({ dir: this.dir, workDir: this.config.workDir, hostId: HOST, recycleDir: null });
    this.pool = createTransportPool({ timeoutMs: 5_000 });
    this.notifier = this.newNotifier();
  }

  private newNotifier(): Notifier {
    return createNotifier({ pool: this.pool, language: 'es', notifyEveryMs: 0, gatherMs: 0 });
  }

  /** Delivers what the notifier holds (as a stopping mailer does) and starts a fresh one. */
  private async flushNotifications(): Promise<void> {
    const current = this.notifier;
    this.notifier = this.newNotifier();
    await current.close();
  }

  async stop(): Promise<void> {
    this.actor?.stop();
    await this.notifier.close();
    await this.pool.closeAll();
    await this.server.close();
  }

  private reply(command: string, arg: string) {
    if (command !== 'RCPT' || arg.includes(ERROR_ADDRESS)) return undefined;
    if (this.mode === 'temp') return { code: 451, text: '4.7.1 Try again later' };
    if (this.mode === 'perm') return { code: 550, text: '5.1.1 User unknown' };
    if (this.mode === 'partial' && arg.includes('otro@')) return { code: 550, text: '5.1.1 User unknown' };
    return undefined;
  }

  get claimsDir(): string {
    return path.join(this.config.workDir, 'claims', HOST);
  }

  /** Messages the server accepted for the customer (not notifications). */
  customerMessages() {
    return this.server.messages.filter((m) => m.rcptTo.some((r) => r !== ERROR_ADDRESS));
  }

  notifications() {
    return this.server.messages.filter((m) => m.rcptTo.includes(ERROR_ADDRESS));
  }

  async writeOrder(opts: { valid: boolean; errorMail: boolean }): Promise<void> {
    await writeFile(path.join(this.dir, ORDER), orderXml(this.server.port, opts));
  }

  async listing(sub = ''): Promise<string[]> {
    const folder = path.join(this.dir, sub);
    return existsSync(folder) ? (await readdir(folder)).filter((n) => !n.startsWith('.')) : [];
  }

  async claimed(): Promise<string[]> {
    return existsSync(this.claimsDir) ? (await readdir(this.claimsDir)).filter((n) => !n.startsWith('.')) : [];
  }

  async state(): Promise<{ attempts: number; nextTryAt?: number; sentAt?: number; inFlightSince?: number; crashes?: number } | undefined> {
    const file = path.join(this.claimsDir, `${ORDER}.state.json`);
    try {
      return JSON.parse(await readFile(file, 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** Puts a plain file where a folder must be created, so the move into it fails. */
  async block(folder: string): Promise<void> {
    await writeFile(folder, 'blocking');
  }

  async unblock(folder: string): Promise<void> {
    await rm(folder, { force: true, recursive: true });
  }

  async waitUntilDue(): Promise<void> {
    const state = await this.state();
    const wait = (state?.nextTryAt ?? 0) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait + 20));
  }

  /** The real actors of the order machine, over this harness's folder, server and notifier. */
  actors() {
    return createOrderActors({
      config: this.config,
      store: this.store,
      sender: createSender({ pool: this.pool, maxConnectionsFor: () => 2 }),
      // Through the harness, so a notifier can be flushed and replaced between passes.
      notifier: { notify: (report) => this.notifier.notify(report), close: async () => {} },
      resolveAttachments: (resolved) =>
        resolveAttachments(resolved.order, { attachmentsDir: this.dir, orderDir: this.dir, pathMap: {} }),
      // The mailer reads an order set aside in a worker; here the same parse, in this thread.
      parseIsolated: async (bytes, fileName) => parseOrder(bytes, fileName),
    });
  }

  private build(): Actor<AnyParent> {
    const actors = this.actors();
    // A process that dies while reading the order: the read never completes, and the pass halts it there.
    const loadOrder = this.crashing ? fromPromise<LoadOrderOutput, { fileName: string; quiet?: boolean }>(() => new Promise(() => {})) : actors.loadOrder;
    const order = orderMachine.provide({ actors: { ...actors, loadOrder }, delays: { archiveRetryDelay: 100 } });
    const location = existsSync(path.join(this.claimsDir, ORDER)) ? 'claimed' : 'inbox';
    const input: OrderInput = { fileName: ORDER, orderId: 'MODEL', company: 'ACME', location, retrySchedule: this.config.retry };
    return createActor(parentFor(order), { input, inspect: this.inspect });
  }

  /** The mailer process ends (its timers with it). */
  halt(): void {
    this.actor?.stop();
    this.actor = undefined;
  }

  /** A new mailer process takes the order (the previous one, if any, has ended). */
  async pass(): Promise<OrderStateName> {
    this.halt();
    this.actor = this.build();
    this.actor.start();
    return this.settle(() => true);
  }

  /** A new mailer process takes the order and dies while reading it (no outcome, no state written on the way out). */
  async passCrashing(): Promise<void> {
    this.halt();
    this.crashing = true;
    try {
      this.actor = this.build();
      this.actor.start();
      await this.settle((value) => value === 'loading', ['loading']);
    } finally {
      this.crashing = false;
      this.halt();
    }
  }

  /** The state the current process's order actor is in ('done' when it finished, undefined when no process runs). */
  orderState(): OrderStateName | undefined {
    if (!this.actor) return undefined;
    const snap = this.orderSnapshot();
    return !snap || snap.status === 'done' ? 'done' : snap.value;
  }

  /** The snapshot of the current process's order actor (undefined once it is gone). */
  private orderSnapshot(): SnapshotFrom<typeof orderMachine> | undefined {
    // The parent invokes the order machine under the id `order`.
    const ref: ActorRefFrom<typeof orderMachine> | undefined = this.actor?.getSnapshot().children.order;
    return ref?.getSnapshot();
  }

  /** The same process goes on: its timers fire and it finishes the order. */
  async live(): Promise<OrderStateName> {
    return this.settle((value) => value === 'done');
  }

  /** Waits until the order is done or rests (an `idle` state: waiting on a timer or a slot), in a state `accept` takes. */
  private async settle(accept: (value: OrderStateName) => boolean, alsoResting: OrderStateName[] = []): Promise<OrderStateName> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const snap = this.orderSnapshot();
      const value = !snap || snap.status === 'done' ? 'done' : snap.value;
      const resting = value === 'done' || snap?.hasTag('idle') === true || alsoResting.includes(value);
      if (resting && accept(value)) {
        await this.flushNotifications();
        return value;
      }
      if (Date.now() > deadline) throw new Error(`order actor stuck in ${value}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async makeDir(p: string): Promise<void> {
    await mkdir(p, { recursive: true });
  }
}

type AnyParent = ReturnType<typeof parentFor>;

/** The smallest parent an order actor needs: it grants every slot it is asked for. */
function parentFor(order: typeof orderMachine) {
  return setup({ types: { input: {} as OrderInput, context: {} as { input: OrderInput } }, actors: { order } }).createMachine({
    context: ({ input }) => ({ input }),
    invoke: { id: 'order', src: 'order', input: ({ context }) => context.input },
    on: {
      'ORDER.WANTS_SLOT': { actions: sendTo('order', { type: 'GO' }) },
      'ORDER.DEFERRED': {},
    },
  });
}
