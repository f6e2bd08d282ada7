import { describe, expect, it } from 'vitest';
import { ExitCode, worstExitCode } from '../../src/cli/exit-codes.js';

describe('worstExitCode (once over several folders)', () => {
  it('ranks 3 > 2 > 1 > 4 > 0', () => {
    expect(worstExitCode([])).toBe(ExitCode.OK);
    expect(worstExitCode([0, 0])).toBe(0);
    expect(worstExitCode([0, 4])).toBe(4);
    expect(worstExitCode([4, 1, 0])).toBe(1);
    expect(worstExitCode([1, 2, 4])).toBe(2);
    expect(worstExitCode([2, 3, 1])).toBe(3);
    expect(worstExitCode([3, 0])).toBe(3);
  });

  it('a status outside the table is never hidden', () => {
    expect(worstExitCode([3, 70])).toBe(70);
  });
});
