// A private etcd for a test: Debian's etcd-server on free loopback ports, data in a temp dir,
// stopped by its PID (never by name: other tests and engineers may run their own).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort } from './ports.js';


export interface TestEtcd {
  url: string;
  dir: string;
  proc: ChildProcess;
  client(): Etcd3;
  /** SIGKILL and wait (the data dir stays: `restart` brings the same state back). */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startEtcd(): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'hf-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  // Short heartbeat and election timeout: etcd's smallest lease TTL is 1.5 election timeouts
  // (rounded up to whole seconds), and failover tests need 1 s leases.
  const args = [
    '--name', 'hf', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `hf=http://127.0.0.1:${peerPort}`,
    '--heartbeat-interval', '50', '--election-timeout', '500', '--max-txn-ops', '10000',
    '--log-level', 'error', '--logger', 'zap',
  ];
  const clients: Etcd3[] = [];
  let proc!: ChildProcess;
  const launch = async (): Promise<void> => {
    proc = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const probe = new Etcd3({ hosts: url });
    const deadline = Date.now() + 15_000;
    try {
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`etcd exited: ${err}`);
        try {
          await probe.get('probe').options({ deadline: Date.now() + 500 }).string();
          return;
        } catch {
          if (Date.now() > deadline) throw new Error(`etcd did not come up: ${err}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      probe.close();
    }
  };
  const kill = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await exited;
  };
  await launch();
  const handle: TestEtcd = {
    url, dir, get proc() { return proc; },
    client() {
      const c = new Etcd3({ hosts: url });
      clients.push(c);
      return c;
    },
    kill,
    restart: async () => { await kill(); await launch(); },
    async stop() {
      for (const c of clients) c.close();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}
