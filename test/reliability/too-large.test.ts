/**
 * Orders above the size limit (MAX_ORDER_BYTES, 10 MB) through the real CLI
 * (issue #13, item 1): the limit is checked with a stat before a byte is
 * read, so a 1.9 GB or 3 GB file named like an order costs neither memory nor
 * a long blocking read. It fails as ORDER_TOO_LARGE like any refused order:
 * errores/ with its note, a notification, `once` exits 1; the other orders go
 * on. Without the stat a 1.9 GB order was read whole (about 4 GB of memory)
 * and a 3 GB one was never failed at all (`once` exited 0, later 4).
 *
 * The files are sparse (`fs.truncate`, what `truncate -s 3G` does): they cost
 * no disk. Peak memory is the mailer's own, written by it as it exits
 * (kit.ts `peakRssEnv`).
 */
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { scopedSink } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import { claimsDir, dropOrder, logLines, makeWorld, orderName, orderXml, ordersIn, peakRssEnv, peakRssKb, writeConfig, type World } from './kit.js';

afterEach(removeTmpDirs);

const GB = 1024 ** 3;
const ERROR = 50; // pino's level number for error

/** A sparse file of `bytes` named like order `id` in `folder`, starting like an order. */
async function hugeOrder(folder: string, id: string, bytes: number): Promise<string> {
  const name = orderName(id);
  const file = path.join(folder, name);
  await writeFile(file, '<?xml version="1.0" encoding="UTF-8"?>\n<OrdenEnvio><Empresa>ACME</Empresa>');
  await truncate(file, bytes);
  return name;
}

/** A configuration whose failure notifications go to sistemas@acme.example through `port`. */
function notifyingConfig(world: World, port: number): Promise<string> {
  return writeConfig(world, {
    hostId: 'h1',
    errorMail: 'sistemas@acme.example',
    from: 'mailer@acme.example',
    smtp: { host: '127.0.0.1', port, security: 'NINGUNA' },
    notifyEverySeconds: 0,
  });
}

describe('an order above the size limit', () => {
  it('1.9 GB and 3 GB orders: `once` fails both unread (errores/, note, notification, exit 1) in seconds with little memory, and sends the others', async () => {
    const sink = await scopedSink();
    const world = await makeWorld('proscai-big-');
    const config = await notifyingConfig(world, sink.port);
    const big = [await hugeOrder(world.dir, 'BIG19', 1900 * 1024 * 1024), await hugeOrder(world.dir, 'BIG3', 3 * GB)];
    const small = orderName('SMALL');
    await dropOrder(world, small, orderXml({ port: sink.port }));
    const peakFile = path.join(world.root, 'peak-rss');

    const result = await runCli(['once', '--config', config], peakRssEnv(peakFile), 60_000);

    expect(result.code, result.stderr).toBe(1);
    expect(result.ms).toBeLessThan(15_000);
    const peakMb = (await peakRssKb(peakFile)) / 1024;
    expect(peakMb).toBeGreaterThan(0);
    expect(peakMb).toBeLessThan(300); // reading the 1.9 GB file alone would take about 2 GB
    expect(await ordersIn(world.dir)).toEqual([]);
    expect((await ordersIn(path.join(world.dir, 'errores'))).sort()).toEqual([...big].sort());
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toEqual([small]);
    for (const [name, bytes] of [[big[0]!, 1900 * 1024 * 1024], [big[1]!, 3 * GB]] as const) {
      const note = await readFile(path.join(world.dir, 'errores', `${name}.error.txt`), 'utf8');
      expect(note).toContain(`El archivo de la orden es demasiado grande: ${bytes} bytes (el máximo es 10 MB).`);
    }
    const lines = await logLines(world);
    const failed = lines.filter((l) => l.event === 'order.failed');
    expect(failed.map((l) => l.fileName).sort()).toEqual([...big].sort());
    for (const line of failed) {
      expect(line.level).toBe(ERROR);
      expect((line.reasons as { errorCode: string }[]).map((r) => r.errorCode)).toEqual(['ORDER_TOO_LARGE']);
    }
    expect(lines.find((l) => l.event === 'supervisor.stopped')?.counts).toMatchObject({ sent: 1, failed: 2, queued: 0 });

    const customer = sink.messages.filter((m) => m.envelope.to.includes('cliente@example.com'));
    expect(customer).toHaveLength(1);
    const notices = sink.messages.filter((m) => m.envelope.to.includes('sistemas@acme.example'));
    expect(notices.length).toBeGreaterThanOrEqual(1);
    const told = notices.map((m) => m.parsed.text ?? '').join('\n');
    for (const name of big) expect(told).toContain(name);
    expect(told).toContain('demasiado grande');
  });

  it('one already claimed by an earlier run (found in the claims folder at start) fails the same way, unread', async () => {
    const sink = await scopedSink();
    const world = await makeWorld('proscai-big-');
    const config = await notifyingConfig(world, sink.port);
    const claims = claimsDir(world, 'h1');
    await mkdir(claims, { recursive: true });
    const name = await hugeOrder(claims, 'CLAIMED3', 3 * GB);

    const result = await runCli(['once', '--config', config], {}, 60_000);

    expect(result.code, result.stderr).toBe(1);
    expect(await ordersIn(claims)).toEqual([]);
    expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([name]);
    const note = await readFile(path.join(world.dir, 'errores', `${name}.error.txt`), 'utf8');
    expect(note).toContain(`demasiado grande: ${3 * GB} bytes`);
  });
});
