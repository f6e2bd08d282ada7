/**
 * The benchmark's SMTP sink: a local smtp-server that accepts every message
 * and throws it away, counting acceptances and recording when each one was
 * accepted (the instant the DATA stream ended, just before the 250 reply).
 *
 * It runs in the benchmark's own process; the client being measured (the
 * real CLI, or the raw nodemailer baseline) always runs in a child process,
 * so both sides get the same split of the machine's cores.
 */
import { performance } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';

/**
 * @typedef {object} Sink
 * @property {number} port
 * @property {() => void} reset               forget every acceptance counted so far
 * @property {() => number} count             messages accepted since the last reset
 * @property {() => number} bytes             bytes received since the last reset
 * @property {() => number[]} times           performance.now() of each acceptance since the last reset
 * @property {() => Promise<void>} close
 */

/** @returns {Promise<Sink>} */
export async function startSink() {
  let times = [];
  let bytes = 0;
  const accepted = () => {
    times.push(performance.now());
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    // A reverse DNS lookup per connection would measure the resolver, not us.
    disableReverseLookup: true,
    logger: false,
    maxClients: 100_000,
    socketTimeout: 60 * 60_000,
    closeTimeout: 1_000,
    onData(stream, _session, callback) {
      stream.on('data', (chunk) => {
        bytes += chunk.length;
      });
      stream.on('end', () => {
        accepted();
        callback();
      });
    },
  });
  server.on('error', (err) => process.stderr.write(`sink: ${err.message}\n`));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.server.address().port;

  return {
    port,
    reset() {
      times = [];
      bytes = 0;
    },
    count: () => times.length,
    bytes: () => bytes,
    times: () => times,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
