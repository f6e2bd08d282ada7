import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { failedTimes } from '../../../src/io/store/inspect.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

afterEach(removeTmpDirs);

describe('failedTimes', () => {
  it('dates a failed order by its note, not by the order file the ERP wrote long ago', async () => {
    const dir = await makeTmpDir('proscai-inspect-');
    await mkdir(path.join(dir, 'errores'));
    const order = path.join(dir, 'errores', '_CFD_MAIL_REQ_1.XML');
    await writeFile(order, 'x');
    await writeFile(`${order}.error.txt`, 'why');
    const old = new Date('2020-01-01T00:00:00Z');
    const failed = new Date('2026-01-01T00:00:00Z');
    await utimes(order, old, old);
    await utimes(`${order}.error.txt`, failed, failed);
    expect(await failedTimes(dir, ['_CFD_MAIL_REQ_1.XML', '_CFD_MAIL_REQ_GONE.XML'])).toEqual([{ fileName: '_CFD_MAIL_REQ_1.XML', failedAt: failed }]);
  });
});
