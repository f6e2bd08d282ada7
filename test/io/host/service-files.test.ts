import { afterEach, describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, MailerError } from '../../../src/errors.js';
import { writeTextFile, writeUnitFile, writeUtf16File } from '../../../src/io/host/service-files.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

afterEach(removeTmpDirs);

describe('writeUnitFile', () => {
  it('writes <name>.service readable by everyone, and says when it replaced one', async () => {
    const dir = await makeTmpDir();
    const first = await writeUnitFile(dir, 'proscai-mailer', '[Unit]\n');
    expect(first).toEqual({ file: path.join(dir, 'proscai-mailer.service'), replaced: false });
    expect(await fs.readFile(first.file, 'utf8')).toBe('[Unit]\n');
    // Windows has no POSIX modes: Node reports a file without the read-only attribute as 0o666 (and chmod 0o644 leaves it writable).
    expect((await fs.stat(first.file)).mode & 0o777).toBe(process.platform === 'win32' ? 0o666 : 0o644);
    const second = await writeUnitFile(dir, 'proscai-mailer', '[Unit]\nDescription=x\n');
    expect(second.replaced).toBe(true);
    expect(await fs.readFile(first.file, 'utf8')).toBe('[Unit]\nDescription=x\n');
    expect(await fs.readdir(dir)).toEqual(['proscai-mailer.service']); // no temporary file left
  });

  it('fails with FS_MOVE_FAILED naming the file when the folder does not exist', async () => {
    const dir = path.join(await makeTmpDir(), 'missing');
    const error = await writeUnitFile(dir, 'pm', 'x').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MailerError);
    expect((error as MailerError).code).toBe(ErrorCodes.FS_MOVE_FAILED);
    expect((error as MailerError).message).toContain(path.join(dir, 'pm.service'));
  });
});

describe('writeUtf16File and writeTextFile', () => {
  it('writes UTF-16 LE with a byte-order mark', async () => {
    const file = path.join(await makeTmpDir(), 'task.xml');
    await writeUtf16File(file, '<a>ñ</a>');
    const bytes = await fs.readFile(file);
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(bytes.subarray(2).toString('utf16le')).toBe('<a>ñ</a>');
  });

  it('writes UTF-8 text', async () => {
    const file = path.join(await makeTmpDir(), 'unit.service');
    await writeTextFile(file, 'Descripción\n');
    expect(await fs.readFile(file, 'utf8')).toBe('Descripción\n');
  });
});
