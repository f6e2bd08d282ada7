import { describe, expect, it } from 'vitest';

import { ErrorCodes, MailerError, classifySendError } from '../../../src/errors.js';
import { redact, toSendError } from '../../../src/io/smtp/errors.js';

/** An error shaped the way nodemailer's _formatError builds them. */
function nmError(message: string, props: Record<string, unknown>): Error {
  return Object.assign(new Error(message), props);
}

describe('toSendError / classifySendError', () => {
  const cases: [string, unknown, string, 'retry' | 'fail'][] = [
    ['connection refused', nmError('connect ECONNREFUSED', { code: 'ESOCKET', originalCode: 'ECONNREFUSED' }), ErrorCodes.SMTP_CONNECTION, 'retry'],
    ['raw ECONNRESET', nmError('read ECONNRESET', { code: 'ECONNRESET' }), ErrorCodes.SMTP_CONNECTION, 'retry'],
    ['EPIPE', nmError('write EPIPE', { code: 'EPIPE' }), ErrorCodes.SMTP_CONNECTION, 'retry'],
    ['closed unexpectedly', nmError('Connection closed unexpectedly', { code: 'ECONNECTION', command: 'CONN' }), ErrorCodes.SMTP_CONNECTION, 'retry'],
    ['DNS failure', nmError('getaddrinfo ENOTFOUND smtp.x', { code: 'EDNS', originalCode: 'ENOTFOUND' }), ErrorCodes.SMTP_CONNECTION, 'retry'],
    ['DNS temporary', nmError('getaddrinfo EAI_AGAIN', { code: 'EAI_AGAIN' }), ErrorCodes.SMTP_CONNECTION, 'retry'],
    ['greeting timeout', nmError('Greeting never received', { code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', command: 'CONN' }), ErrorCodes.SMTP_TIMEOUT, 'retry'],
    ['abort', nmError('This operation was aborted', { code: 'EABORT', name: 'AbortError' }), ErrorCodes.SMTP_TIMEOUT, 'retry'],
    ['421 closing', nmError('Server closed the connection', { code: 'ECONNECTION', response: '421 4.3.2 Shutting down', responseCode: 421 }), ErrorCodes.SMTP_TEMPORARY, 'retry'],
    ['451 on DATA', nmError('Message failed', { code: 'EMESSAGE', response: '451 4.3.0 try later', responseCode: 451, command: 'DATA' }), ErrorCodes.SMTP_TEMPORARY, 'retry'],
    ['452 on MAIL', nmError('Mail command failed', { code: 'EENVELOPE', response: '452 insufficient storage', responseCode: 452, command: 'MAIL FROM' }), ErrorCodes.SMTP_TEMPORARY, 'retry'],
    ['503 bad sequence', nmError('Data command failed', { code: 'EENVELOPE', response: '503 bad sequence', responseCode: 503, command: 'DATA' }), ErrorCodes.SMTP_TEMPORARY, 'retry'],
    ['550 on DATA', nmError('Message failed', { code: 'EMESSAGE', response: '550 5.7.1 spam', responseCode: 550, command: 'DATA' }), ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['552 size on MAIL', nmError('Mail command failed', { code: 'EENVELOPE', response: '552 too big', responseCode: 552, command: 'MAIL FROM' }), ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['size refused before sending', nmError('Message size larger than allowed 100', { code: 'EMESSAGE', command: 'MAIL FROM' }), ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['535 bad credentials', nmError('Invalid login', { code: 'EAUTH', response: '535 5.7.8 bad', responseCode: 535, command: 'AUTH PLAIN' }), ErrorCodes.SMTP_AUTH, 'fail'],
    ['454 auth temporary', nmError('Invalid login', { code: 'EAUTH', response: '454 4.7.0 temporary auth failure', responseCode: 454, command: 'AUTH LOGIN' }), ErrorCodes.SMTP_TEMPORARY, 'retry'],
    ['530 STARTTLS first, in answer to AUTH', nmError('Invalid login', { code: 'EAUTH', response: '530 5.7.0 Must issue a STARTTLS command first', responseCode: 530, command: 'AUTH PLAIN' }), ErrorCodes.SMTP_TLS, 'fail'],
    ['530 authentication required', nmError('Invalid login', { code: 'EAUTH', response: '530 5.7.0 Authentication required', responseCode: 530, command: 'AUTH PLAIN' }), ErrorCodes.SMTP_AUTH, 'fail'],
    ['missing credentials', nmError('Missing credentials for "PLAIN"', { code: 'EAUTH', command: 'API' }), ErrorCodes.SMTP_AUTH, 'fail'],
    ['530 auth required', nmError('Mail command failed', { code: 'EENVELOPE', response: '530 5.7.0 Authentication required', responseCode: 530, command: 'MAIL FROM' }), ErrorCodes.SMTP_AUTH, 'fail'],
    ['530 must STARTTLS', nmError('Mail command failed', { code: 'EENVELOPE', response: '530 5.7.0 Must issue a STARTTLS command first', responseCode: 530, command: 'MAIL FROM' }), ErrorCodes.SMTP_TLS, 'fail'],
    ['STARTTLS refused (not offered)', nmError('Error upgrading connection with STARTTLS', { code: 'ETLS', response: '502 5.5.2 Error: command not recognized', responseCode: 502, command: 'STARTTLS' }), ErrorCodes.SMTP_TLS, 'fail'],
    ['STARTTLS 454 temporary', nmError('Error upgrading connection with STARTTLS', { code: 'ETLS', response: '454 4.7.0 TLS not available', responseCode: 454, command: 'STARTTLS' }), ErrorCodes.SMTP_TEMPORARY, 'retry'],
    ['self-signed certificate', nmError('self-signed certificate', { code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', command: 'CONN' }), ErrorCodes.SMTP_TLS, 'fail'],
    ['wrong host name', nmError('Hostname/IP does not match', { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), ErrorCodes.SMTP_TLS, 'fail'],
    ['TLS against a plain port', nmError('wrong version number', { code: 'ESOCKET', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER' }), ErrorCodes.SMTP_TLS, 'fail'],
    [
      'all recipients 550',
      nmError("Can't send mail - all recipients were rejected", {
        code: 'EENVELOPE', response: '550 5.1.1 unknown', responseCode: 550, command: 'RCPT TO', rejected: ['a@x.mx', 'b@x.mx'],
        rejectedErrors: [{ responseCode: 550, response: '550 5.1.1 unknown' }, { responseCode: 550, response: '550 5.1.1 unknown' }],
      }),
      ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED,
      'fail',
    ],
    [
      'all recipients refused, one 450',
      nmError("Can't send mail - all recipients were rejected", {
        code: 'EENVELOPE', response: '450 4.2.1 mailbox busy', responseCode: 450, command: 'RCPT TO', rejected: ['a@x.mx', 'b@x.mx'],
        rejectedErrors: [{ responseCode: 550, response: '550 unknown' }, { responseCode: 450, response: '450 4.2.1 mailbox busy' }],
      }),
      ErrorCodes.SMTP_TEMPORARY,
      'retry',
    ],
    ['attachment vanished while streaming', nmError('ENOENT: no such file', { code: 'ESTREAM', originalCode: 'ENOENT' }), ErrorCodes.ATTACHMENT_UNREADABLE, 'fail'],
    ['unknown error', new Error('something odd'), ErrorCodes.INTERNAL, 'fail'],
    [
      'internationalized mailbox refused on RCPT (553 under SMTPUTF8)',
      nmError("Can't send mail - all recipients were rejected: 553 5.6.7 not allowed", {
        code: 'EENVELOPE',
        response: '553 5.6.7 not allowed',
        responseCode: 553,
        command: 'RCPT TO',
        rejected: ['josé@cliente.mx'],
        rejectedErrors: [nmError('Internationalized mailbox name not allowed', { code: 'EENVELOPE', response: '553 5.6.7 not allowed', responseCode: 553, recipient: 'josé@cliente.mx' })],
      }),
      ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED,
      'fail',
    ],
    ['a thrown string', 'boom', ErrorCodes.INTERNAL, 'fail'],
  ];

  it.each(cases)('%s', (_name, err, code, decision) => {
    const mapped = toSendError(err);
    expect(mapped).toBeInstanceOf(MailerError);
    expect(mapped.code).toBe(code);
    expect(classifySendError(toSendError(err))).toBe(decision);
  });

  it('keeps the SMTP details: reply code, reply text, command and low-level code', () => {
    const err = toSendError(nmError('Message failed: 451 later', { code: 'EMESSAGE', response: '451 4.3.0 later', responseCode: 451, command: 'DATA' }));
    expect(err.smtp).toEqual({ responseCode: 451, response: '451 4.3.0 later', command: 'DATA', errno: 'EMESSAGE' });
    const refused = toSendError(nmError('connect ECONNREFUSED 127.0.0.1:1', { code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }));
    expect(refused.smtp).toEqual({ command: 'CONN', errno: 'ECONNREFUSED' });
  });

  it('reads the reply code from the response text when responseCode is missing', () => {
    const err = toSendError(nmError('x', { code: 'EENVELOPE', response: '554 5.7.1 rejected', command: 'DATA' }));
    expect(err.code).toBe(ErrorCodes.SMTP_PERMANENT);
    expect(err.smtp?.responseCode).toBe(554);
  });

  it('returns MailerErrors unchanged and classifies them by code', () => {
    const own = new MailerError(ErrorCodes.ATTACHMENT_OUTSIDE, 'outside');
    expect(toSendError(own)).toBe(own);
    expect(classifySendError(own)).toBe('fail');
    expect(classifySendError(new MailerError(ErrorCodes.SMTP_TIMEOUT, 't'))).toBe('retry');
    expect(classifySendError(new MailerError(ErrorCodes.SMTP_SMTPUTF8_UNSUPPORTED, 'no SMTPUTF8', { value: 'josé@cliente.mx' }))).toBe('fail');
  });

  it('never lets a password through, neither on an AUTH line nor verbatim nor base64-encoded', () => {
    const secret = 'S3cr3t-pass';
    const b64 = Buffer.from(secret).toString('base64');
    const err = toSendError(
      nmError(`Invalid login: 535 AUTH PLAIN ${Buffer.from(`\0user\0${secret}`).toString('base64')} refused`, {
        code: 'EAUTH',
        response: `535 echo ${secret} and ${b64}`,
        responseCode: 535,
        command: 'AUTH PLAIN',
      }),
      { secrets: [secret] },
    );
    const all = JSON.stringify(err.toJSON()) + err.message;
    expect(all).not.toContain(secret);
    expect(all).not.toContain(b64);
    expect(all).not.toContain(Buffer.from(`\0user\0${secret}`).toString('base64'));
    expect(err.code).toBe(ErrorCodes.SMTP_AUTH);
    expect(err.smtp?.command).toBe('AUTH PLAIN');
  });

  it('redact cuts the rest of an AUTH line but leaves the mechanism name', () => {
    expect(redact('C: AUTH LOGIN dXNlcg==\nS: 334 x')).toBe('C: AUTH LOGIN [redacted]\nS: 334 x');
    expect(redact('AUTH PLAIN')).toBe('AUTH PLAIN');
  });
});
