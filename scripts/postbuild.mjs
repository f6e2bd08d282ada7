// Makes dist/main.js an executable program (shebang + run bit) so that the
// package's "bin" works right after `npm ci` in a fresh clone.
//
// The shebang ends node's options with `--`: Node 20 reads `--env-file` from
// anywhere in its argv, also after the script (and exits with status 9 when
// that file cannot be read), so `proscai-mailer service print --env-file F`
// would be taken by node itself. After `--` every word goes to the program.
// npm's Windows shim (cmd-shim) reads this shebang too and runs `node -- …`.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
const file = new URL('../dist/main.js', import.meta.url);
const text = readFileSync(file, 'utf8');
if (!text.startsWith('#!')) writeFileSync(file, `#!/usr/bin/env -S node --\n${text}`);
chmodSync(file, 0o755);
