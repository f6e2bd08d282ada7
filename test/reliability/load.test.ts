/**
 * Under load, through the real CLI: 10,000 small orders dropped at once are all
 * sent by one `once` pass within a bounded memory (the peak resident memory
 * the mailer reports as it exits: VmHWM on Linux, the peak working set on
 * Windows). A stop under load: shutdown.test.ts. (The cost of listing a large
 * folder is tested elsewhere.)
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scopedScriptedSmtp } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import {
  claimedOrders,
  dropMany,
  makeWorld,
  orderName,
  orderXml,
  ordersIn,
  peakRssEnv,
  peakRssKb,
  startMailer,
  tally,
  underWine,
  writeConfig,
} from './kit.js';

afterAll(removeTmpDirs);

describe('load', () => {
  it('10,000 orders (3,000 under Wine) dropped at once: one `once` pass sends them all, peak memory bounded', async () => {
    const world = await makeWorld();
    const server = await scopedScriptedSmtp();
    // Under Wine (the Windows lane) every file call is emulated: 10,000 orders alone take well over a minute there.
    const count = underWine ? 3_000 : 10_000;
    const ids = Array.from({ length: count }, (_, i) => `L${String(i).padStart(5, '0')}`);
    await dropMany(world, ids.map((id) => ({ name: orderName(id), xml: orderXml({ port: server.port }) })));
    const config = await writeConfig(world, { hostId: 'h1' });

    const peakFile = path.join(world.root, 'peak-rss');
    const cli = startMailer(['once', '--config', config], peakRssEnv(peakFile));
    const result = await cli.exited;
    const peakKb = await peakRssKb(peakFile);
    const peakMb = Math.round(peakKb / 1024);
    console.log(`load: ${count} orders sent in ${result.ms} ms (${Math.round((count * 1000) / result.ms)}/s), peak RSS ${peakMb} MB`);
    expect(result.code).toBe(0);
    expect(peakKb).toBeGreaterThan(0);
    expect(peakMb).toBeLessThan(400);

    const { distinct, duplicates } = tally(server.messages.map((m) => m.raw));
    expect(distinct).toBe(count);
    expect(duplicates).toBe(0);
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toHaveLength(count);
    expect(await ordersIn(world.dir)).toEqual([]);
    expect(await claimedOrders(world)).toEqual([]);
  }, 180_000);
});
