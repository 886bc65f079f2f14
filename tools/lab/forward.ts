// Root-namespace halves of the loopback bridges between the root namespace and the lab namespace.
// Unix sockets live in the file system, which both namespaces share, so a socat in the lab
// namespace and these forwarders in the root namespace join the two loopbacks without any route.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

export interface Forwarder {
  close(): Promise<void>;
  /** Drops every connection in flight (the listening side stays). */
  dropConnections(): void;
}

function pipeBoth(a: Socket, b: Socket, live: Set<Socket>): void {
  live.add(a);
  live.add(b);
  const end = (): void => {
    a.destroy();
    b.destroy();
    live.delete(a);
    live.delete(b);
  };
  a.on('error', end).on('close', end);
  b.on('error', end).on('close', end);
  a.pipe(b);
  b.pipe(a);
}

function closeServer(server: Server, live: Set<Socket>): Promise<void> {
  for (const s of live) s.destroy();
  live.clear();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Accepts on a unix socket and connects each connection to target() (a TCP address in the root namespace). */
export async function unixToTcp(path: string, target: () => { host: string; port: number }): Promise<Forwarder> {
  rmSync(path, { force: true });
  const live = new Set<Socket>();
  const server = createServer((inbound) => {
    const { host, port } = target();
    pipeBoth(inbound, createConnection({ host, port }), live);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  server.unref();
  return { close: () => closeServer(server, live), dropConnections: () => { for (const s of live) s.destroy(); } };
}

/** Listens on 127.0.0.1 (an ephemeral port) and connects each connection to a unix socket. */
export async function tcpToUnix(path: string): Promise<Forwarder & { port: number }> {
  const live = new Set<Socket>();
  const server = createServer((inbound) => pipeBoth(inbound, createConnection({ path }), live));
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const addr = server.address();
      if (addr && typeof addr === 'object') resolve(addr.port);
      else reject(new Error('no TCP address'));
    });
  });
  server.unref();
  return { port, close: () => closeServer(server, live), dropConnections: () => { for (const s of live) s.destroy(); } };
}
