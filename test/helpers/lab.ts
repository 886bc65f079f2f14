// Test helpers around the Open vSwitch lab: labs started through labs.start() are stopped by
// labs.stopAll() (call it in afterEach), and small socket utilities for OpenFlow-level checks.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type Lab, type LabSpec } from '../../tools/lab/lab.js';

export class LabPool {
  private readonly labs: Lab[] = [];

  async start(spec: LabSpec): Promise<Lab> {
    const lab = await startLab(spec);
    this.labs.push(lab);
    return lab;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.labs.splice(0).map((l) => l.stop()));
  }
}

/** Reads exactly n bytes from a socket, or rejects after timeoutMs / on close. */
export function readBytes(sock: Socket, n: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err?: Error): void => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      sock.off('error', done);
      if (err) reject(err);
    };
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= n) {
        done();
        // Give back what was not asked for.
        if (buf.length > n) sock.unshift(buf.subarray(n));
        resolve(buf.subarray(0, n));
      }
    };
    const onClose = (): void => done(new Error(`socket closed after ${buf.length} of ${n} bytes`));
    const timer = setTimeout(() => done(new Error(`timed out reading ${n} bytes (got ${buf.length})`)), timeoutMs);
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.once('error', done);
  });
}

export function connectTcp(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host, port }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** A TCP server on 127.0.0.1 (ephemeral port) that queues accepted sockets. */
export class Acceptor {
  private readonly waiting: Array<(s: Socket) => void> = [];
  private readonly queued: Socket[] = [];
  readonly sockets: Socket[] = [];
  private constructor(private readonly server: Server, readonly port: number) {}

  static async listen(): Promise<Acceptor> {
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    }));
    const acc = new Acceptor(server, port);
    server.on('connection', (s) => {
      acc.sockets.push(s);
      const w = acc.waiting.shift();
      if (w) w(s);
      else acc.queued.push(s);
    });
    return acc;
  }

  next(timeoutMs = 10_000): Promise<Socket> {
    const q = this.queued.shift();
    if (q) return Promise.resolve(q);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connection on port ${this.port} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** The OpenFlow header of a message: version, type, length, xid. */
export function ofHeader(b: Buffer): { version: number; type: number; length: number; xid: number } {
  return { version: b.readUInt8(0), type: b.readUInt8(1), length: b.readUInt16BE(2), xid: b.readUInt32BE(4) };
}

/**
 * Compiles tools/lab alone (it imports only Node built-ins) into a temp dir, so a test can run the
 * lab in a separate owner process. Returns the dir; the caller removes it.
 */
export function compileLabModule(): string {
  const out = mkdtempSync(join(tmpdir(), 'holdfast-labjs-'));
  execFileSync('npx', ['tsc', '--ignoreConfig', '--outDir', out, '--rootDir', 'tools/lab', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'es2022', '--types', 'node', '--skipLibCheck', 'tools/lab/cli.ts', 'tools/lab/lab.ts'], { stdio: 'pipe' });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  return out;
}
