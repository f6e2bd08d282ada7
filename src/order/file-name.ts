/**
 * The file name a recipient sees for an attachment. It is written by the
 * order (`nombre`) or taken from the attachment's path, and lands in the
 * message's Content-Disposition, where a mail client or a person saving the
 * file uses it as a path. So it is reduced to one bare, harmless name.
 *
 * Guarantees of `safeFileName` (pure, idempotent):
 * - no folder: only what follows the last `/` or `\` is kept
 *   (`../../evil.exe` → `evil.exe`, `C:\Windows\x.dll` → `x.dll`);
 * - no control characters (C0, DEL, C1) and no bidirectional-formatting
 *   characters, with which `factura\u202Efdp.exe` displays as `facturaexe.pdf`;
 * - none of the characters Windows refuses in names (`<>:"|?*`, replaced by
 *   `_`), no leading dots (no hidden file, no `..`), no trailing dots or
 *   spaces (Windows drops them), and no Windows device name (`CON`, `NUL.txt`,
 *   `COM1`… get a leading `_`);
 * - at most MAX_FILE_NAME_CHARS characters, the extension kept;
 * - `undefined` when nothing is left, so the caller falls back to the
 *   attachment's own file name; never an empty string.
 */

/** Longest name kept: file systems allow 255 units, and a longer name only gets cut by the recipient's side. */
export const MAX_FILE_NAME_CHARS = 255;

const CONTROL = /[\u0000-\u001F\u007F-\u009F]/g;
/** LRM/RLM, ALM, the embedding/override marks and the isolates. */
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
const WINDOWS_FORBIDDEN = /[<>:"|?*]/g;
/** Device names Windows reserves with any extension (`NUL.txt` is still NUL); superscript digits count. */
const DEVICE = /^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³]|CONIN\$|CONOUT\$)(\..*)?$/i;

/** The safe form of `name` (see the module comment), or undefined when nothing usable is left. */
export function safeFileName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  let safe = name.replace(CONTROL, '').replace(BIDI, '');
  safe = safe.slice(Math.max(safe.lastIndexOf('/'), safe.lastIndexOf('\\')) + 1);
  safe = trimDotsAndSpacesEnd(safe.replace(WINDOWS_FORBIDDEN, '_').trim().replace(/^\.+/, '')).trim();
  if (safe === '') return undefined;
  if (DEVICE.test(safe)) safe = `_${safe}`;
  return truncate(safe);
}

/**
 * Cuts the stem, never the extension (when it is a short one), to
 * MAX_FILE_NAME_CHARS code points. Only the code points kept are visited,
 * however long the name (a `nombre` may be megabytes long).
 */
function truncate(name: string): string {
  if (name.length <= MAX_FILE_NAME_CHARS) return name; // a code point is at least one UTF-16 unit
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && name.length - dot <= 16 ? [...name.slice(dot)] : [];
  const keep = MAX_FILE_NAME_CHARS - extension.length;
  const all = firstCodePoints(name, MAX_FILE_NAME_CHARS + 1);
  if (all.length <= MAX_FILE_NAME_CHARS) return name;
  const stem = trimDotsAndSpacesEnd(all.slice(0, keep).join(''));
  return stem + extension.join('');
}

/** The first `count` code points of `text`. */
function firstCodePoints(text: string, count: number): string[] {
  const out: string[] = [];
  for (const ch of text) {
    if (out.length >= count) break;
    out.push(ch);
  }
  return out;
}

/** `text` without the dots and spaces that end it (Windows drops them); a loop, not `/[. ]+$/`, which is quadratic on long runs. */
function trimDotsAndSpacesEnd(text: string): string {
  let end = text.length;
  while (end > 0 && (text[end - 1] === '.' || text[end - 1] === ' ')) end--;
  return text.slice(0, end);
}
