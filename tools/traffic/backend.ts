// The backend side of the traffic tools: a TCP line-echo server that names itself in every reply,
// a UDP echo with the same reply form, and a one-shot HTTP answer for browsers and curl in demos.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { formatReply, httpResponse, isHttpRequestLine, LineBuffer } from './protocol.js';

export interface BackendOptions {
  name: string;
  bind: string;
  /** 0 picks a free port. */
  tcpPort?: number;
  udpPort?: number;
}

export interface BackendCounters {
  tcpConnections: number;
  tcpOpen: number;
  tcpLines: number;
  httpRequests: number;
  /** Connections that ended with a socket error (reset by the client, EPIPE...). */
  tcpErrors: number;
  /** Connections dropped for sending a line longer than MAX_LINE_BYTES. */
  tcpOversized: number;
  udpDatagrams: number;
  udpErrors: number;
}

export interface Backend {
  readonly tcpPort?: number;
  readonly udpPort?: number;
  readonly counters: BackendCounters;
  /** Stops listening, ends open connections with FIN (destroying those still open after graceMs). */
  close(graceMs?: number): Promise<void>;
}

export async function startBackend(opts: BackendOptions): Promise<Backend> {
  const counters: BackendCounters = { tcpConnections: 0, tcpOpen: 0, tcpLines: 0, httpRequests: 0, tcpErrors: 0, tcpOversized: 0, udpDatagrams: 0, udpErrors: 0 };
  const sockets = new Set<Socket>();
  let tcp: Server | undefined;
  let udp: UdpSocket | undefined;
  let tcpPort: number | undefined;
  let udpPort: number | undefined;

  try {
    if (opts.tcpPort !== undefined) {
      const server = createServer({ noDelay: true }, (sock) => serveTcp(sock, opts.name, counters, sockets));
      tcp = server;
      tcpPort = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: opts.bind, port: opts.tcpPort, backlog: 4096 }, () => {
          server.off('error', reject);
          const a = server.address();
          resolve(typeof a === 'object' && a ? a.port : 0);
        });
      });
      // Accept errors (EMFILE...) must not kill the server; the client will see the failure.
      server.on('error', (err) => process.stderr.write(`tcp server error: ${err.message}\n`));
    }
    if (opts.udpPort !== undefined) {
      const sock = createSocket({ type: isIPv6(opts.bind) ? 'udp6' : 'udp4' });
      udp = sock;
      udpPort = await new Promise<number>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind({ address: opts.bind, port: opts.udpPort }, () => {
          sock.off('error', reject);
          resolve(sock.address().port);
        });
      });
      sock.on('error', () => counters.udpErrors++);
      sock.on('message', (msg, rinfo) => {
        counters.udpDatagrams++;
        sock.send(formatReply(opts.name, msg.toString('utf8')), rinfo.port, rinfo.address, (err) => {
          if (err) counters.udpErrors++;
        });
      });
    }
  } catch (err) {
    tcp?.close();
    udp?.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = (graceMs = 1000): Promise<void> => {
    closing ??= (async () => {
      const tcpClosed = tcp ? new Promise<void>((r) => tcp!.close(() => r())) : Promise.resolve();
      udp?.close();
      for (const s of sockets) s.end();
      const timer = setTimeout(() => { for (const s of sockets) s.destroy(); }, graceMs);
      await tcpClosed;
      clearTimeout(timer);
    })();
    return closing;
  };
  return { tcpPort, udpPort, counters, close };
}

function serveTcp(sock: Socket, name: string, counters: BackendCounters, sockets: Set<Socket>): void {
  counters.tcpConnections++;
  counters.tcpOpen++;
  sockets.add(sock);
  const lines = new LineBuffer();
  let first = true;
  let done = false;
  sock.on('data', (chunk) => {
    if (done) return;
    let got: string[];
    try {
      got = lines.push(chunk);
    } catch {
      counters.tcpOversized++;
      done = true;
      sock.destroy();
      return;
    }
    for (const line of got) {
      if (first && isHttpRequestLine(line)) {
        counters.httpRequests++;
        done = true;
        sock.end(httpResponse(name));
        return;
      }
      first = false;
      counters.tcpLines++;
      sock.write(`${formatReply(name, line)}\n`);
    }
  });
  // A client reset is routine for a load balancer backend: count it, never throw.
  sock.on('error', () => counters.tcpErrors++);
  sock.on('close', () => {
    counters.tcpOpen--;
    sockets.delete(sock);
  });
}
