/**
 * A loopback port nobody listens on: bound to an ephemeral port, read, then
 * closed, so a connection to it is refused (ECONNREFUSED) rather than left
 * waiting. Tests use it for "the server is down".
 */
import net from 'node:net';

export async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
