/**
 * The parse worker thread: parses orders (order/parse.ts) off the mailer's
 * main thread. Protocol (io/parse/thread.ts is the other end): a request
 * `{ id, bytes, fileName }` gets exactly one reply `{ id, result }`, the
 * ParseResult with its errors serialized.
 */
import { parentPort } from 'node:worker_threads';

import { parseOrder } from '../../order/parse.js';
import { serializeParse, type ParseReply, type ParseRequest } from './thread.js';

const port = parentPort;
if (port === null) throw new Error('io/parse/worker runs as a worker thread only');

port.on('message', (request: ParseRequest) => {
  const bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength);
  const reply: ParseReply = { id: request.id, result: serializeParse(parseOrder(bytes, request.fileName)) };
  port.postMessage(reply);
});
