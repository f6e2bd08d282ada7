/**
 * A scripted SMTP server for reliability tests: a small raw TCP server
 * (node:net) on 127.0.0.1, port 0, whose reply to every command can be chosen
 * by a script, including things smtp-server cannot do on demand: drop the
 * connection, stall, drop in the middle of the message data, greet late or
 * never.
 *
 * ```ts
 * const smtp = await startScriptedSmtp({
 *   reply: ({ command, session }) => (command === 'RCPT' && session === 1 ? { code: 451 } : undefined),
 * });
 * // … send to 127.0.0.1:smtp.port …
 * expect(smtp.messages).toHaveLength(1);
 * await smtp.close();
 * ```
 *
 * Protocol: `220 scripted ESMTP`; EHLO advertises 8BITMIME, SMTPUTF8 and
 * AUTH PLAIN LOGIN (no PIPELINING, no STARTTLS, no SIZE); AUTH accepts any
 * credentials by default. Commands are handled strictly one after another,
 * even when several arrive in one chunk. A 421 reply (to anything) closes the
 * connection after it is sent, as real servers do; so does QUIT's 221. Other
 * replies >= 400 leave the session open: the client decides what to do next.
 */
import net from 'node:net';

/** What a script returns for one command: a reply code, or a misbehaviour. */
export type Reply =
  /** Send this reply (text may hold '\n' for a multi-line reply). */
  | { code: number; text?: string }
  /** Destroy the socket right away, without a reply. */
  | { action: 'drop' }
  /** Never answer; later input on the session is ignored too. */
  | { action: 'stall' }
  /**
   * Only for DATA: answer 354, then destroy the socket once `afterBytes` of
   * message data have arrived (or at the end of the data if it is shorter),
   * so nothing is ever recorded. For any other command it acts as 'drop'.
   */
  | { action: 'dropMidData'; afterBytes: number };

/** What the script sees for each command. */
export interface ScriptStep {
  /** 1-based number of the connection, in order of arrival. */
  session: number;
  /**
   * Upper-cased verb: EHLO, HELO, MAIL, RCPT, DATA, DOT (end of data), RSET,
   * QUIT, NOOP, AUTH, or whatever unknown verb the client sent.
   */
  command: string;
  /** The rest of the line ('FROM:<a@b>'); for AUTH only the mechanism, never credentials. */
  arg: string;
  /** Messages accepted so far, over all sessions. */
  messageIndex: number;
}

export interface ScriptedSmtpOptions {
  /** Decides the reply for each command of each session. Return undefined for the default success reply. */
  reply?: (ctx: ScriptStep) => Reply | undefined;
  /** Delay before the 220 greeting; 'never' = stall (never greet). */
  greetingDelayMs?: number | 'never';
  /** Extra latency before each reply (simulate a slow server). */
  replyDelayMs?: number;
}

/** An accepted message: envelope and raw bytes (dot-unstuffed, without the terminating '.'). */
export interface ScriptedMessage {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  session: number;
}

export interface ScriptedSmtp {
  port: number;
  /** Accepted messages (DOT answered 2xx): envelope + raw bytes (dot-unstuffed), in order. */
  messages: ScriptedMessage[];
  /** Every command line received, for assertions; AUTH credentials appear as '***', the end of data as '.'. */
  log: { session: number; line: string }[];
  /** Sessions open right now. */
  readonly openSessions: number;
  /** The largest number of sessions ever open at once. */
  readonly maxOpenSessions: number;
  /** Connections accepted since start. */
  readonly totalSessions: number;
  /** Replace the script while running (e.g. the server "comes back"). */
  setReply(fn: ScriptedSmtpOptions['reply']): void;
  /** Stops listening and destroys open sockets; resolves once the server is closed. */
  close(): Promise<void>;
}

type Mode = 'greeting' | 'command' | 'data' | 'authPlain' | 'authLoginUser' | 'authLoginPass' | 'stalled';

interface Session {
  id: number;
  socket: net.Socket;
  mode: Mode;
  buf: Buffer;
  /** Where to resume looking for the end of data, so large messages are not rescanned. */
  scanFrom: number;
  busy: boolean;
  dropAfter?: number;
  mailFrom?: string;
  rcptTo: string[];
}

const EMPTY_DATA = Buffer.from('.\r\n');
const DEFAULTS: Record<string, { code: number; text: string }> = {
  HELO: { code: 250, text: 'scripted' },
  EHLO: { code: 250, text: 'scripted\n8BITMIME\nSMTPUTF8\nAUTH PLAIN LOGIN' },
  AUTH: { code: 235, text: '2.7.0 Authentication successful' },
  MAIL: { code: 250, text: '2.1.0 OK' },
  RCPT: { code: 250, text: '2.1.5 OK' },
  DATA: { code: 354, text: 'End data with <CR><LF>.<CR><LF>' },
  RSET: { code: 250, text: '2.0.0 OK' },
  NOOP: { code: 250, text: '2.0.0 OK' },
  QUIT: { code: 221, text: '2.0.0 Bye' },
};

/** Formats a reply; every line of a multi-line text but the last gets `code-`. */
function format(code: number, text = ''): string {
  const lines = text.split('\n');
  return lines.map((l, i) => `${code}${i < lines.length - 1 ? '-' : ' '}${l}`.trimEnd() + '\r\n').join('');
}

/** Undoes dot-stuffing (RFC 5321 4.5.2): drops the first '.' of every line that starts with one. */
function unstuff(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let line = 0; line < data.length; ) {
    if (data[line] === 0x2e) {
      parts.push(data.subarray(start, line));
      start = line + 1;
    }
    const nl = data.indexOf('\r\n', line);
    if (nl < 0) break;
    line = nl + 2;
  }
  parts.push(data.subarray(start));
  return Buffer.concat(parts);
}

/** Starts a scripted SMTP server on 127.0.0.1, on a free port. */
export async function startScriptedSmtp(opts: ScriptedSmtpOptions = {}): Promise<ScriptedSmtp> {
  let script = opts.reply;
  const messages: ScriptedMessage[] = [];
  const log: { session: number; line: string }[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let open = 0;
  let maxOpen = 0;
  let total = 0;

  /** setTimeout as a promise; close() clears pending ones so nothing fires after it. */
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => (timers.delete(t), resolve()), ms);
      timers.add(t);
    });

  /** Picks the reply (script, else default) and acts on it; returns the code sent, if any. */
  function answer(s: Session, command: string, arg: string): number | undefined {
    let def = DEFAULTS[command] ?? { code: 502, text: '5.5.2 Command not implemented' };
    if (command === 'DATA' && (!s.mailFrom || s.rcptTo.length === 0)) def = { code: 503, text: '5.5.1 Bad sequence of commands' };
    if (command === 'DOT') def = { code: 250, text: `2.0.0 queued as ${messages.length + 1}` };
    const r = script?.({ session: s.id, command, arg, messageIndex: messages.length }) ?? def;
    if ('action' in r) {
      if (r.action === 'stall') s.mode = 'stalled';
      else if (r.action === 'dropMidData' && command === 'DATA') {
        s.socket.write(format(354, DEFAULTS.DATA.text));
        s.mode = 'data';
        s.dropAfter = r.afterBytes;
      } else s.socket.destroy();
      return undefined;
    }
    s.socket.write(format(r.code, r.text ?? (r.code === def.code ? def.text : '')));
    if (r.code === 421 || (command === 'QUIT' && r.code === 221)) {
      s.mode = 'stalled';
      s.socket.end();
    }
    return r.code;
  }

  /** Handles one command line (or one AUTH continuation line). */
  function onLine(s: Session, line: string): void {
    if (s.mode !== 'command') {
      log.push({ session: s.id, line: line === '*' ? '*' : '***' });
      const mode = s.mode;
      s.mode = 'command';
      if (line === '*') return void s.socket.write(format(501, '5.7.0 Authentication cancelled'));
      if (mode === 'authLoginUser') return void ((s.mode = 'authLoginPass'), s.socket.write(format(334, 'UGFzc3dvcmQ6')));
      return void answer(s, 'AUTH', mode === 'authPlain' ? 'PLAIN' : 'LOGIN');
    }
    const sp = line.indexOf(' ');
    const command = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? '' : line.slice(sp + 1).trim();
    if (command === 'AUTH') return onAuth(s, arg);
    log.push({ session: s.id, line });
    if (command === 'EHLO' || command === 'HELO' || command === 'RSET' || command === 'MAIL') {
      s.mailFrom = undefined;
      s.rcptTo = [];
    }
    const code = answer(s, command, arg);
    const ok = code !== undefined && code >= 200 && code < 300;
    const address = /<([^>]*)>/.exec(arg)?.[1] ?? arg.replace(/^(FROM|TO):/i, '');
    if (command === 'MAIL' && ok) s.mailFrom = address;
    if (command === 'RCPT' && ok) s.rcptTo.push(address);
    if (command === 'DATA' && code === 354) s.mode = 'data';
  }

  /** AUTH PLAIN [initial] / AUTH LOGIN [initial]: logs the mechanism only, then asks for what is missing. */
  function onAuth(s: Session, arg: string): void {
    const [mech = '', initial] = arg.split(/\s+/);
    const mechanism = mech.toUpperCase();
    log.push({ session: s.id, line: `AUTH ${mechanism}${initial ? ' ***' : ''}` });
    if (mechanism === 'PLAIN' && initial) return void answer(s, 'AUTH', mechanism);
    if (mechanism === 'PLAIN') return void ((s.mode = 'authPlain'), s.socket.write(format(334, '')));
    if (mechanism === 'LOGIN' && initial) return void ((s.mode = 'authLoginPass'), s.socket.write(format(334, 'UGFzc3dvcmQ6')));
    if (mechanism === 'LOGIN') return void ((s.mode = 'authLoginUser'), s.socket.write(format(334, 'VXNlcm5hbWU6')));
    s.socket.write(format(504, '5.5.4 Unrecognized authentication type'));
  }

  /** In data mode: where the data ends (`end`) and its terminator too (`consumed`), if it has arrived. */
  function findEnd(s: Session): { end: number; consumed: number } | undefined {
    if (s.buf.subarray(0, 3).equals(EMPTY_DATA)) return { end: 0, consumed: 3 };
    const i = s.buf.indexOf('\r\n.\r\n', Math.max(0, s.scanFrom - 4));
    s.scanFrom = s.buf.length;
    return i < 0 ? undefined : { end: i + 2, consumed: i + 5 };
  }

  /** The end of data has arrived: answer DOT, and record the message if that answer is 2xx. */
  function onDot(s: Session, { end, consumed }: { end: number; consumed: number }): void {
    const raw = unstuff(s.buf.subarray(0, end));
    s.buf = s.buf.subarray(consumed);
    s.scanFrom = 0;
    s.mode = 'command';
    log.push({ session: s.id, line: '.' });
    const code = answer(s, 'DOT', '');
    if (code !== undefined && code >= 200 && code < 300 && s.mailFrom !== undefined) {
      messages.push({ mailFrom: s.mailFrom, rcptTo: s.rcptTo, raw, session: s.id });
    }
    s.mailFrom = undefined;
    s.rcptTo = [];
  }

  /** Works through buffered input one command at a time, waiting replyDelayMs before each reply. */
  async function pump(s: Session): Promise<void> {
    if (s.busy) return;
    s.busy = true;
    try {
      while (!s.socket.destroyed && s.mode !== 'stalled' && s.mode !== 'greeting') {
        let line: string | undefined;
        let dot: { end: number; consumed: number } | undefined;
        if (s.mode === 'data') {
          dot = findEnd(s);
          if (s.dropAfter !== undefined && (dot || s.buf.length >= s.dropAfter)) s.socket.destroy();
          if (!dot || s.socket.destroyed) break;
        } else {
          const nl = s.buf.indexOf('\r\n');
          if (nl < 0) break;
          line = s.buf.subarray(0, nl).toString('utf8');
          s.buf = s.buf.subarray(nl + 2);
        }
        if (opts.replyDelayMs) await sleep(opts.replyDelayMs);
        if (s.socket.destroyed) break;
        if (dot) onDot(s, dot);
        else onLine(s, line ?? '');
      }
    } finally {
      s.busy = false;
    }
  }

  const server = net.createServer((socket) => {
    const s: Session = { id: ++total, socket, mode: 'greeting', buf: Buffer.alloc(0), scanFrom: 0, busy: false, rcptTo: [] };
    sockets.add(socket);
    maxOpen = Math.max(maxOpen, ++open);
    socket.on('error', () => {}); // resets by the client are part of the tests
    socket.on('close', () => (sockets.delete(socket), open--));
    socket.on('data', (chunk) => {
      s.buf = s.buf.length ? Buffer.concat([s.buf, chunk]) : chunk;
      void pump(s);
    });
    const greet = (): void => {
      if (socket.destroyed) return;
      socket.write(format(220, 'scripted ESMTP'));
      s.mode = 'command';
      void pump(s);
    };
    if (opts.greetingDelayMs === 'never') return;
    if (opts.greetingDelayMs) void sleep(opts.greetingDelayMs).then(greet);
    else greet();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });

  return {
    port: (server.address() as net.AddressInfo).port,
    messages,
    log,
    get openSessions() { return open; },
    get maxOpenSessions() { return maxOpen; },
    get totalSessions() { return total; },
    setReply: (fn) => void (script = fn),
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
