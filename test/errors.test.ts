import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import {
  ERROR_TABLE,
  ErrorCodes,
  MailerError,
  classifySendError,
  isTemporaryCode,
  retryClassOf,
  type ErrorCode,
  type RetryClass,
} from '../src/errors.js';

/**
 * Every code's retry class, written out here on purpose: a change to the
 * table must change this list too. Spec §3: no answer from the SMTP server
 * and 4xx replies are temporary (tried again on the retry schedule); a file
 * or folder that cannot be used now leaves the order where it is for a later
 * pass (docs/troubleshooting.md marks both *retried*); everything else fails
 * at once.
 */
const EXPECTED: Record<ErrorCode, RetryClass> = {
  ORDER_UNREADABLE: 'never',
  ORDER_EMPTY: 'never',
  ORDER_TOO_LARGE: 'never',
  ORDER_INCOMPLETE: 'never',
  ORDER_ENCODING: 'never',
  ORDER_NOT_XML: 'never',
  ORDER_XML_MALFORMED: 'never',
  ORDER_DOCTYPE: 'never',
  ORDER_ROOT: 'never',
  ORDER_FIELD_MISSING: 'never',
  ORDER_FIELD_INVALID: 'never',
  ORDER_NO_RECIPIENT: 'never',
  ORDER_ADDRESS_INVALID: 'never',
  ORDER_HEADER_INJECTION: 'never',
  ORDER_TOO_COMPLEX: 'never',
  ORDER_CRASHED_MAILER: 'never',
  ATTACHMENT_OUTSIDE: 'never',
  ATTACHMENT_MISSING: 'never',
  ATTACHMENT_UNREADABLE: 'never',
  ENVELOPE_MISSING: 'never',
  ENVELOPE_INVALID: 'never',
  SMTP_CONNECTION: 'schedule',
  SMTP_TIMEOUT: 'schedule',
  SMTP_TEMPORARY: 'schedule',
  SMTP_PERMANENT: 'never',
  SMTP_AUTH: 'never',
  SMTP_TLS: 'never',
  SMTP_ALL_RECIPIENTS_REJECTED: 'never',
  SMTP_SMTPUTF8_UNSUPPORTED: 'never',
  RETRIES_EXHAUSTED: 'never',
  FS_MOVE_FAILED: 'wait',
  FS_ACCESS_FAILED: 'wait',
  FS_HELD: 'wait',
  CLAIM_LOST: 'never',
  CONFIG_INVALID: 'never',
  USAGE: 'never',
  INSTANCE_RUNNING: 'never',
  INSTANCE_LOCK_LOST: 'never',
  INTERNAL: 'never',
};

const rows = Object.entries(EXPECTED) as [ErrorCode, RetryClass][];

describe('ERROR_TABLE', () => {
  it('has exactly one row per code, and ErrorCodes names each code by itself', () => {
    expect(Object.keys(ERROR_TABLE).sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(Object.keys(ErrorCodes)).toEqual(Object.keys(ERROR_TABLE));
    for (const [name, code] of Object.entries(ErrorCodes)) expect(code).toBe(name);
  });

  it.each(rows)('%s: %s', (code, retry) => {
    expect(ERROR_TABLE[code].retry).toBe(retry);
    expect(retryClassOf(code)).toBe(retry);
    expect(isTemporaryCode(code)).toBe(retry === 'schedule');
    expect(classifySendError({ code })).toBe(retry === 'schedule' ? 'retry' : 'fail');
  });

  it('isTemporaryCode: only connection, timeout and 4xx codes are temporary', () => {
    const temporary = Object.values(ErrorCodes).filter(isTemporaryCode);
    expect(temporary.sort()).toEqual([ErrorCodes.SMTP_CONNECTION, ErrorCodes.SMTP_TEMPORARY, ErrorCodes.SMTP_TIMEOUT].sort());
  });

  it('classifySendError decides the same on a MailerError and on its persisted form', () => {
    for (const code of Object.values(ErrorCodes)) {
      const error = new MailerError(code, 'x');
      expect(classifySendError(error)).toBe(classifySendError(error.toJSON()));
    }
  });

  it('docs/troubleshooting.md marks *retried* exactly the codes that are tried again', () => {
    const text = readFileSync(new URL('../docs/troubleshooting.md', import.meta.url), 'utf8');
    const marked = Object.values(ErrorCodes).filter((code) => text.includes(`| \`${code}\` (*retried*) |`));
    expect(marked.sort()).toEqual(rows.filter(([, retry]) => retry !== 'never').map(([code]) => code).sort());
  });
});
