import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { deleteOldLogFiles, listLogFiles, rotatedName } from '../../../src/io/log/names.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

afterEach(removeTmpDirs);

describe('rotated names', () => {
  it('sort in time order with a plain string sort, the current file last', () => {
    const file = '/logs/mailer.log';
    const names = [
      rotatedName(file, '2026-11-26', 1),
      rotatedName(file, '2026-11-26', 2),
      rotatedName(file, '2026-11-26'),
      rotatedName(file, '2026-11-27', 1),
      rotatedName(file, '2026-11-27'),
      file,
    ].map((p) => path.basename(p));
    expect(names.slice(0, 3)).toEqual(['mailer-2026-11-26.001.log', 'mailer-2026-11-26.002.log', 'mailer-2026-11-26.log']);
    expect([...names].reverse().sort()).toEqual(names);
  });
});

describe('deleteOldLogFiles', () => {
  it('returns what it deleted', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'mailer.log');
    await writeFile(path.join(dir, 'mailer-2026-01-01.log'), 'x');
    expect(await deleteOldLogFiles(file, 30, new Date(2026, 1, 15))).toEqual([path.join(dir, 'mailer-2026-01-01.log')]);
  });
});

describe('listLogFiles', () => {
  it('is empty for a folder that does not exist', async () => {
    const dir = await makeTmpDir();
    expect(await listLogFiles(path.join(dir, 'none', 'mailer.log'))).toEqual([]);
  });
});
