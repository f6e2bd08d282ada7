import { underWine } from './tmp.js';

/**
 * Which system recycle bin RECICLAR reaches here (through the `trash`
 * package), so that a test can expect what this system really does:
 * - `xdg`: Linux, the freedesktop trash under `$XDG_DATA_HOME/Trash`, which a
 *   test points at a temporary folder and reads back (`.trashinfo` files);
 * - `windows`: the Windows recycle bin, reached by the helper program the
 *   `trash` package ships (it uses the shell's IFileOperation);
 * - `none`: Windows under Wine (the Windows lane). Wine's IFileOperation is a
 *   stub whose SetOperationFlags returns E_NOTIMPL, and the helper then calls
 *   the object it has just released, so it dies with an access violation
 *   (0xC0000005): there is no recycle bin to reach, and RECICLAR must fail
 *   safely.
 */
export type SystemRecycleBin = 'xdg' | 'windows' | 'none';

export const systemRecycleBin: SystemRecycleBin =
  process.platform !== 'win32' ? 'xdg' : underWine ? 'none' : 'windows';
