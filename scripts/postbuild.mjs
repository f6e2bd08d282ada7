// Makes dist/main.js an executable program (shebang + run bit) so that the
// package's "bin" works right after `npm ci` in a fresh clone.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
const file = new URL('../dist/main.js', import.meta.url);
const text = readFileSync(file, 'utf8');
if (!text.startsWith('#!')) writeFileSync(file, `#!/usr/bin/env node\n${text}`);
chmodSync(file, 0o755);
