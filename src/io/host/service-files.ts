/**
 * Writes the files of `proscai-mailer service`: the systemd unit and the
 * Windows task XML. The only file-system side of src/service/ (which builds
 * text and stays pure).
 *
 * Guarantees: a file is written whole or not at all (temporary file, flush,
 * rename), so a unit half-written by a full disk never reaches systemd;
 * failures are FS_MOVE_FAILED `MailerError`s naming the path.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { moveError, writeFileAtomic } from '../store/files.js';

/** Where systemd looks for units installed by the administrator. */
export const SYSTEM_UNIT_DIR = '/etc/systemd/system';

/**
 * Writes `<unitDir>/<name>.service` (mode 0644, as systemd expects) and tells
 * whether it replaced an existing unit. The folder must exist: a missing
 * `/etc/systemd/system` means this is not a systemd machine.
 */
export async function writeUnitFile(unitDir: string, name: string, text: string): Promise<{ file: string; replaced: boolean }> {
  const file = path.join(unitDir, `${name}.service`);
  const replaced = await fs.stat(file).then(
    () => true,
    () => false,
  );
  try {
    await writeFileAtomic(file, text);
    await fs.chmod(file, 0o644);
  } catch (err) {
    throw moveError('write unit file', file, err);
  }
  return { file, replaced };
}

/** The text as UTF-16 little-endian with a byte-order mark: what Task Scheduler exports and `schtasks /XML` reads. */
export function utf16leWithBom(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

/** Writes `text` as UTF-16 LE with BOM (the Windows task XML). */
export async function writeUtf16File(file: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(file, utf16leWithBom(text));
  } catch (err) {
    throw moveError('write file', file, err);
  }
}

/** Writes `text` as UTF-8 (the unit file printed with `--out`). */
export async function writeTextFile(file: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(file, text);
  } catch (err) {
    throw moveError('write file', file, err);
  }
}
