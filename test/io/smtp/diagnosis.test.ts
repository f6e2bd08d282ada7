import { describe, expect, it } from 'vitest';

import { ErrorCodes, classifySendError, type SmtpDiagnosis } from '../../../src/errors.js';
import { describeError, diagnosisAdvice, renderErrorNote, renderNotification } from '../../../src/text/errors.js';
import { REPLY_TABLE, diagnoseReply, toSendError } from '../../../src/io/smtp/errors.js';

/** An error shaped the way nodemailer builds them for a refused command. */
function refused(reply: string, command: string): Error {
  const responseCode = Number(reply.slice(0, 3));
  const props: Record<string, unknown> = { code: command === 'DATA' ? 'EMESSAGE' : 'EENVELOPE', response: reply, responseCode, command };
  if (command === 'RCPT TO') {
    props.rejected = ['pagos@cliente.mx'];
    props.rejectedErrors = [Object.assign(new Error(reply), { ...props, recipient: 'pagos@cliente.mx' })];
    return Object.assign(new Error(`Can't send mail - all recipients were rejected: ${reply}`), props);
  }
  return Object.assign(new Error(`Message failed: ${reply}`), props);
}

describe('what an SMTP refusal points at (REPLY_TABLE)', () => {
  // Real replies: Postfix (the first ones, as the e2e test against Postfix sees them), Exchange/Microsoft 365, others.
  const cases: [string, string, string, SmtpDiagnosis | undefined, string, 'retry' | 'fail'][] = [
    ['Postfix: foreign sender, refused at RCPT', '553 5.7.1 <ventas@acme.mx>: Sender address rejected: not owned by user mailer@acme.mx', 'RCPT TO', 'sender', ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['Postfix: sender without login', '553 5.7.1 <ventas@acme.mx>: Sender address rejected: not logged in', 'RCPT TO', 'sender', ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['Microsoft 365: send as denied', '550 5.7.60 SMTP; Client does not have permissions to send as this sender', 'DATA', 'sender', ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['Postfix: message file too big', '552 5.3.4 Error: message file too big', 'DATA', 'size', ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['Postfix: SIZE refused on MAIL', '552 5.3.4 Message size exceeds fixed limit', 'MAIL FROM', 'size', ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['5.2.3 without 552', '554 5.2.3 Message length exceeds administrative limit', 'DATA', 'size', ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['full mailbox (552, but the recipient)', '552 5.2.2 <pagos@cliente.mx>: Mailbox full', 'RCPT TO', 'mailbox', ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED, 'fail'],
    ['Postfix: unknown user', '550 5.1.1 <pagos@cliente.mx>: Recipient address rejected: User unknown in virtual mailbox table', 'RCPT TO', 'mailbox', ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED, 'fail'],
    ['Postfix: relay denied', '554 5.7.1 <pagos@cliente.mx>: Relay access denied', 'RCPT TO', 'relay', ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED, 'fail'],
    ['Microsoft 365: relay not permitted', '550 5.7.64 TenantAttribution; Relay Access Denied', 'RCPT TO', 'relay', ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED, 'fail'],
    ['content refused as spam', '550 5.7.1 Message rejected as spam by Content Filtering', 'DATA', 'policy', ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['greylisting (4xx: still retried)', '450 4.7.1 <pagos@cliente.mx>: Recipient address rejected: Greylisted, try again later', 'RCPT TO', 'policy', ErrorCodes.SMTP_TEMPORARY, 'retry'],
    ['a reply that says nothing specific', '550 Requested action not taken', 'DATA', undefined, ErrorCodes.SMTP_PERMANENT, 'fail'],
  ];

  it.each(cases)('%s', (_name, reply, command, diagnosis, code, decision) => {
    const error = toSendError(refused(reply, command));
    expect(error.smtp?.diagnosis).toBe(diagnosis);
    expect(error.code).toBe(code);
    // The diagnosis changes the advice, never the retry decision.
    expect(classifySendError(error)).toBe(decision);
    // The log shows the message: it carries the reply and, when known, the English advice.
    expect(error.message).toContain(reply);
    if (diagnosis !== undefined) expect(error.message).toContain(diagnosisAdvice(diagnosis, 'en'));
  });

  it('the table is ordered from specific to general: each row is reachable', () => {
    const reached = new Set(cases.map(([, reply]) => diagnoseReply(Number(reply.slice(0, 3)), reply)));
    for (const [, diagnosis] of REPLY_TABLE) expect(reached).toContain(diagnosis);
  });

  it('credentials and TLS keep their own codes and advice (535 5.7.8 is not a "policy")', () => {
    const auth = toSendError(Object.assign(new Error('Invalid login: 535 5.7.8 Error: authentication failed'), { code: 'EAUTH', response: '535 5.7.8 Error: authentication failed', responseCode: 535, command: 'AUTH PLAIN' }));
    expect(auth.code).toBe(ErrorCodes.SMTP_AUTH);
    expect(auth.smtp?.diagnosis).toBeUndefined();
  });
});

describe('the advice reaches the note and the notice, quoting the reply', () => {
  const sender = toSendError(refused('553 5.7.1 <ventas@acme.mx>: Sender address rejected: not owned by user mailer@acme.mx', 'RCPT TO')).toJSON();
  const tooBig = toSendError(refused('552 5.3.4 Error: message file too big', 'DATA')).toJSON();

  it('a sender the account may not use: not "the recipients", in Spanish and English', () => {
    const note = renderErrorNote({ fileName: '_CFD_MAIL_REQ_0100.XML', orderId: '0100', errors: [sender], at: new Date() }, 'es');
    expect(note).toContain('- El servidor SMTP no acepta ese remitente para la cuenta con la que se envía: 553 5.7.1 <ventas@acme.mx>: Sender address rejected: not owned by user mailer@acme.mx.');
    expect(note).toContain(`- ${diagnosisAdvice('sender', 'es')} Después use «proscai-mailer retry 0100».`);
    expect(note).not.toMatch(/destinatarios/);
    expect(describeError(sender, 'en')).toBe('The SMTP server does not accept that sender for the account sending: 553 5.7.1 <ventas@acme.mx>: Sender address rejected: not owned by user mailer@acme.mx.');
  });

  it('a message too large: says so and what to do', () => {
    const { text } = renderNotification(
      [{ orderId: '0100', fileName: '_CFD_MAIL_REQ_0100.XML', error: tooBig, reason: describeError(tooBig, 'es'), to: [] }],
      'es',
    );
    expect(text).toContain('Motivo: El servidor SMTP rechazó el mensaje por ser demasiado grande: 552 5.3.4 Error: message file too big.');
    expect(text).toContain(`Qué hacer: ${diagnosisAdvice('size', 'es')} Después use «proscai-mailer retry 0100».`);
  });
});
