/**
 * The house rules on imports, checked on every `npm test`: no import cycle, no
 * import from a lower layer to a higher one except types (errors/text/config/
 * order/machines → io → actors → mailer → cli/service → main), machines and
 * the other pure modules touch no file system or network. The rules live in /.dependency-cruiser.cjs
 * (also `npx depcruise src` by hand); dependency-cruiser reads the sources, so
 * this needs no build and no network.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const rules = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as { forbidden: unknown[]; options: Record<string, unknown> };

describe('architecture', () => {
  it('has no import cycle and no import from a lower layer to a higher one (dependency-cruiser)', async () => {
    const options = { ...rules.options, baseDir: ROOT, tsConfig: { fileName: path.join(ROOT, 'tsconfig.json') }, ruleSet: { forbidden: rules.forbidden }, validate: true };
    const result = await cruise(['src'], options as never);
    const output = result.output as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    expect(output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  });
});
