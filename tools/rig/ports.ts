// A free TCP port on loopback for a server a test starts next (closed again before it is returned).
//
// Chosen below Linux's ephemeral range (32768-60999 by default): tests stop servers and start them
// again on the same port (a controller restart, etcd stopped for seconds), and a port the kernel
// hands out as ephemeral may meanwhile become the local port of some unrelated outgoing
// connection, so the restarted server could not bind it. Ports below the range are only ever
// taken by an explicit bind.
import { createServer } from 'node:net';

const LOW = 20_000;
const HIGH = 32_768;

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(a && typeof a === 'object' ? a.port : undefined));
    });
  });
}

export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await tryListen(LOW + Math.floor(Math.random() * (HIGH - LOW)));
    if (port !== undefined) return port;
  }
  const any = await tryListen(0);
  if (any === undefined) throw new Error('no free port on 127.0.0.1');
  return any;
}
