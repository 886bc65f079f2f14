// A private etcd for a test: Debian's etcd-server on free loopback ports, data in a temp dir,
// stopped by its PID (never by name: other tests and engineers may run their own). One member by
// default, or a three-member cluster (all local, different ports).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort } from './ports.js';


export interface EtcdMember {
  name: string;
  url: string;
  readonly proc: ChildProcess;
  /** Stops the process with this signal and waits for it to exit (the data dir stays). */
  halt(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same data dir and waits until it answers. */
  resume(): Promise<void>;
}

export interface TestEtcd {
  /** Every member's client URL, comma-separated (what `holdfast start --etcd` takes). */
  url: string;
  dir: string;
  members: EtcdMember[];
  /** The first member's process. */
  readonly proc: ChildProcess;
  client(): Etcd3;
  /** SIGKILL every member and wait (the data dirs stay: `restart` brings the same state back). */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Waits until etcd at `url` answers a linearizable read (so the member is in a cluster with a quorum). */
async function waitAnswers(url: string, proc: ChildProcess, err: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`etcd exited: ${err()}`);
    // A new client per try: etcd3's circuit breaker would keep a reused one away for 5 s.
    const probe = new Etcd3({ hosts: url });
    try {
      await probe.get('probe').options({ deadline: Date.now() + 500 }).string();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`etcd did not come up: ${err()}`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      probe.close();
    }
  }
}

export async function startEtcd(o: { members?: number } = {}): Promise<TestEtcd> {
  const n = o.members ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'hf-etcd-'));
  const specs: { name: string; url: string; peer: string }[] = [];
  for (let i = 0; i < n; i++) specs.push({ name: `hf${i}`, url: `http://127.0.0.1:${await freePort()}`, peer: `http://127.0.0.1:${await freePort()}` });
  const initialCluster = specs.map((s) => `${s.name}=${s.peer}`).join(',');
  const members = specs.map((s): EtcdMember & { launch(): void; ready(): Promise<void> } => {
    // Short heartbeat and election timeout: etcd's smallest lease TTL is 1.5 election timeouts
    // (rounded up to whole seconds), and failover tests need 1 s leases.
    const args = [
      '--name', s.name, '--data-dir', join(dir, s.name),
      '--listen-client-urls', s.url, '--advertise-client-urls', s.url,
      '--listen-peer-urls', s.peer, '--initial-advertise-peer-urls', s.peer,
      '--initial-cluster', initialCluster, '--initial-cluster-token', `hf-${dir}`,
      '--heartbeat-interval', '50', '--election-timeout', '500', '--max-txn-ops', '10000',
      '--log-level', 'error', '--logger', 'zap',
    ];
    let proc!: ChildProcess;
    let err = '';
    const m = {
      name: s.name, url: s.url,
      get proc() { return proc; },
      launch() {
        err = '';
        proc = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
        proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      },
      ready: () => waitAnswers(s.url, proc, () => err),
      async halt(signal: 'SIGTERM' | 'SIGKILL' = 'SIGKILL') {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill(signal);
        await exited;
      },
      async resume() {
        m.launch();
        await m.ready();
      },
    };
    return m;
  });
  // All at once: a member of a cluster answers only once a quorum is up.
  for (const m of members) m.launch();
  await Promise.all(members.map((m) => m.ready()));
  const url = specs.map((s) => s.url).join(',');
  const clients: Etcd3[] = [];
  const kill = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.halt('SIGKILL')));
  };
  return {
    url, dir, members,
    get proc() { return members[0]!.proc; },
    client() {
      const c = new Etcd3({ hosts: specs.map((s) => s.url) });
      clients.push(c);
      return c;
    },
    kill,
    restart: async () => {
      await kill();
      for (const m of members) m.launch();
      await Promise.all(members.map((m) => m.ready()));
    },
    async stop() {
      for (const c of clients) c.close();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
