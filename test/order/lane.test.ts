/**
 * One lane key for an order wherever it is computed: the intake's cheap scan
 * of the bytes (order/company-scan.ts), the full parse and resolution
 * (order/resolve.ts `laneOfParsed`, the `company` of `resolveOrder`), and the
 * row `status` counts the waiting order under (blank → `?`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { gatherStatus } from '../../src/cli/status.js';
import { buildConfig } from '../../src/config/load.js';
import { scanCompany } from '../../src/order/company-scan.js';
import { laneKey, laneLabel, UNKNOWN_LANE } from '../../src/order/lane.js';
import { parseOrder } from '../../src/order/parse.js';
import { laneOfParsed, resolveOrder } from '../../src/order/resolve.js';
import { orderXml } from './helpers.js';

const SMTP = (user: string) => `<SMTP><Servidor>smtp.acme.example</Servidor><Usuario>${user}</Usuario><Contrasena>x</Contrasena></SMTP>`;

/** Each order, the lane it belongs to, and whether the scan can tell it without the parse. */
const CASES: { id: string; inner: string; lane: string; scanned: boolean }[] = [
  { id: 'A1', inner: `<Empresa> Acme Norte </Empresa>${SMTP('f@acme.example')}`, lane: 'ACME NORTE', scanned: true },
  { id: 'A2', inner: `<Empresa>acme</Empresa>${SMTP('f@acme.example')}`, lane: 'ACME', scanned: true },
  { id: 'A3', inner: `<EMPRESA>Acme</EMPRESA>`, lane: 'ACME', scanned: true },
  // Accents: kept, only the case changes; the scan leaves non-ASCII values to the parse.
  { id: 'C1', inner: `<Empresa>Compañía Sur</Empresa>`, lane: 'COMPAÑÍA SUR', scanned: false },
  { id: 'C2', inner: `<Empresa>COMPAÑÍA SUR </Empresa>${SMTP('f@acme.example')}`, lane: 'COMPAÑÍA SUR', scanned: false },
  // Blank Empresa: the SMTP user, else the sender.
  { id: 'U1', inner: `<Empresa>  </Empresa>${SMTP('Envios@Acme.example')}<Remitente>ventas@otra.example</Remitente>`, lane: 'ENVIOS@ACME.EXAMPLE', scanned: false },
  { id: 'F1', inner: `<Empresa/><Remitente>Ventas &lt;Ventas@Otra.example&gt;</Remitente>`, lane: 'VENTAS@OTRA.EXAMPLE', scanned: false },
  { id: 'F2', inner: `<Remitente>ventas@otra.example</Remitente>`, lane: 'VENTAS@OTRA.EXAMPLE', scanned: false },
  // Neither: no key, shown as `?`.
  { id: 'N1', inner: '', lane: '', scanned: false },
  // Cannot be parsed (no recipient): the partial order still gives the lane.
  { id: 'P1', inner: '<Empresa>acme</Empresa><Para></Para>', lane: 'ACME', scanned: true },
];

const nameOf = (id: string) => `_CFD_MAIL_REQ_${id}.XML`;
const bytesOf = (inner: string) => Buffer.from(orderXml(inner), 'utf8');

let tmp: string | undefined;
afterEach(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  tmp = undefined;
});

describe('laneKey', () => {
  it('is Empresa, else the SMTP user, else the sender; trimmed and upper-cased, accents kept', () => {
    const from = { name: 'Ventas', address: 'ventas@otra.example' };
    expect(laneKey(' Compañía sur ', 'u@x.example', from)).toBe('COMPAÑÍA SUR');
    expect(laneKey('  ', ' u@x.example ', from)).toBe('U@X.EXAMPLE');
    expect(laneKey(undefined, '', from)).toBe('VENTAS@OTRA.EXAMPLE');
    expect(laneKey(undefined, undefined, undefined)).toBe('');
  });

  it('laneLabel shows a blank or missing key as ?', () => {
    expect([laneLabel('ACME'), laneLabel(''), laneLabel('  '), laneLabel(undefined), laneLabel(7)]).toEqual(['ACME', UNKNOWN_LANE, UNKNOWN_LANE, UNKNOWN_LANE, UNKNOWN_LANE]);
    expect(UNKNOWN_LANE).toBe('?');
  });
});

describe('scan, parse and status agree on the lane of an order', () => {
  const config = buildConfig({ env: {}, flags: { dir: '/srv/envio_mails' } });

  it.each(CASES)('$id → "$lane"', ({ id, inner, lane, scanned }) => {
    const bytes = bytesOf(inner);
    const parsed = parseOrder(bytes, nameOf(id));
    expect(laneOfParsed(parsed, config)).toBe(lane);
    expect(parsed.ok, 'parsed').toBe(id !== 'P1');
    if (parsed.ok) {
      const resolved = resolveOrder(parsed.order, config);
      if (resolved.ok) expect(resolved.resolved.company).toBe(lane);
    }
    expect(scanCompany(bytes)).toBe(scanned ? lane : undefined);
  });

  it('status counts each waiting order under that lane, a blank one under ?', async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'lane-'));
    for (const c of CASES) await writeFile(path.join(tmp, nameOf(c.id)), bytesOf(c.inner));
    const report = await gatherStatus(buildConfig({ env: {}, flags: { dir: tmp } }));
    const expected = new Map<string, number>();
    for (const c of CASES) expected.set(laneLabel(c.lane), (expected.get(laneLabel(c.lane)) ?? 0) + 1);
    const waiting = Object.fromEntries(report.companies.map((row) => [row.company, row.waiting]));
    expect(waiting).toEqual(Object.fromEntries(expected));
    expect(report.companies.at(-1)?.company).toBe(UNKNOWN_LANE);
  });
});
