// The Open vSwitch lab against the real thing: userspace OVS, network namespaces, real traffic.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { cleanupStaleLabs, type Lab, type LabSpec } from '../../tools/lab/lab.js';
import { Acceptor, compileLabModule, connectTcp, LabPool, ofHeader, readBytes } from '../helpers/lab.js';

const twoHosts = (extra: Partial<LabSpec> = {}): LabSpec => ({
  bridges: [{ name: 'br0' }],
  hosts: [
    { name: 'h1', bridge: 'br0', ip: '10.0.0.1/24' },
    { name: 'h2', bridge: 'br0', ip: '10.0.0.2/24' },
  ],
  ...extra,
});

const netnsList = (): string[] => (existsSync('/run/netns') ? readdirSync('/run/netns') : []);
const alive = (pid: number): boolean => {
  try {
    return !/^\S+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const netnsPids = (ns: string): number[] =>
  execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
const rootLinksOf = (id: string): string[] =>
  execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(id));

async function ping(lab: Lab, from: string, to: string): Promise<boolean> {
  // One reply within 3 s, sending every 0.2 s: the first may wait for ARP.
  const r = await lab.exec(from, ['ping', '-c', '1', '-w', '3', '-i', '0.2', lab.host(to).ip]);
  return r.code === 0;
}

/** After a failed ping the kernel holds a FAILED neighbour entry and ping errors out at once: forget it. */
async function flushNeighbours(lab: Lab, hosts: string[]): Promise<void> {
  for (const h of hosts) await lab.exec(h, ['ip', 'neigh', 'flush', 'dev', lab.host(h).veth]);
}

/** Waits for a line on a child's stdout that satisfies pred. */
function waitLine(child: ChildProcess, pred: (l: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!child.stdout) return reject(new Error('child has no stdout'));
    const rl = createInterface({ input: child.stdout });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => reject(new Error(`no matching line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    rl.on('line', (l) => {
      if (pred(l)) {
        clearTimeout(timer);
        rl.close();
        resolve(l);
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`child exited (${code}) before the line; stderr: ${stderr}`)); });
  });
}

/** TCP from one host to another through the bridge: 1 MiB of random bytes, checked by SHA-256 on both ends. */
async function tcpTransfer(lab: Lab, from: string, to: string): Promise<void> {
  const dst = lab.host(to).ip;
  const server = lab.spawn(to, ['node', '-e', `
    const net = require('net'), crypto = require('crypto');
    const h = crypto.createHash('sha256'); let n = 0;
    const s = net.createServer((c) => {
      c.on('data', (d) => { h.update(d); n += d.length; });
      c.on('end', () => { console.log(JSON.stringify({ n, sha: h.digest('hex') })); c.end(); s.close(); });
    });
    s.listen(5000, '${dst}', () => console.log('LISTENING'));`]);
  await waitLine(server, (l) => l === 'LISTENING');
  const result = waitLine(server, (l) => l.startsWith('{'));
  const client = await lab.exec(from, ['node', '-e', `
    const net = require('net'), crypto = require('crypto');
    const data = crypto.randomBytes(1 << 20);
    const c = net.connect(5000, '${dst}', () => c.end(data));
    c.on('close', () => console.log(JSON.stringify({ n: data.length, sha: crypto.createHash('sha256').update(data).digest('hex') })));
    c.on('error', (e) => { console.error(e.message); process.exit(1); });`], { timeoutMs: 15_000 });
  expect(client.code, client.stderr).toBe(0);
  const sent = JSON.parse(client.stdout.trim()) as { n: number; sha: string };
  const got = JSON.parse(await result) as { n: number; sha: string };
  expect(sent.n).toBe(1 << 20);
  expect(got).toEqual(sent);
}

describe('Open vSwitch lab', () => {
  const pool = new LabPool();
  afterEach(() => pool.stopAll());

  it('forwards ping and TCP between hosts once a NORMAL flow is installed, and nothing before (fail-mode secure)', async () => {
    const lab = await pool.start(twoHosts());
    const h1 = lab.host('h1');
    expect(h1).toMatchObject({ ip: '10.0.0.1', prefixLen: 24, ofport: 1, mac: '02:00:00:00:00:01' });
    expect(lab.host('h2').ofport).toBe(2);

    // The switch reports the ports at the promised OpenFlow numbers.
    const show = await lab.ofctl(['-O', 'OpenFlow13', 'show', 'br0']);
    expect(show).toContain(`1(${h1.port})`);
    expect(show).toContain(`2(${lab.host('h2').port})`);
    // The host end has the planned MAC and address, inside the host's namespace.
    const addr = await lab.exec('h1', ['ip', '-o', 'addr', 'show', 'dev', h1.veth]);
    expect(addr.stdout).toContain('10.0.0.1/24');
    const link = await lab.exec('h1', ['ip', '-o', 'link', 'show', 'dev', h1.veth]);
    expect(link.stdout).toContain('02:00:00:00:00:01');

    // Secure fail mode with no controller and no flows: nothing passes.
    expect(await ping(lab, 'h1', 'h2')).toBe(false);
    await flushNeighbours(lab, ['h1', 'h2']);

    await lab.ofctl(['-O', 'OpenFlow13', 'add-flow', 'br0', 'actions=NORMAL']);
    expect(await ping(lab, 'h1', 'h2')).toBe(true);
    expect(await ping(lab, 'h2', 'h1')).toBe(true);
    await tcpTransfer(lab, 'h1', 'h2');

    // The flow carried the transfer (rule stats follow the datapath with a lag: poll).
    await expect.poll(async () => Number(/n_bytes=(\d+)/.exec(await lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br0']))?.[1]), { timeout: 5000 })
      .toBeGreaterThan(1 << 20);
  });

  it('runs two labs with the same bridges and addresses side by side without collisions', async () => {
    const [a, b] = await Promise.all([pool.start(twoHosts()), pool.start(twoHosts())]);
    expect(a.id).not.toBe(b.id);
    expect(a.ovsNetns).not.toBe(b.ovsNetns);
    expect(a.host('h1').netns).not.toBe(b.host('h1').netns);

    await a.ofctl(['-O', 'OpenFlow13', 'add-flow', 'br0', 'actions=NORMAL']);
    expect(await ping(a, 'h1', 'h2')).toBe(true);
    // The flow went to lab a's switch only.
    expect(await b.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br0'])).not.toContain('actions=NORMAL');
    expect(await ping(b, 'h1', 'h2')).toBe(false);
    await flushNeighbours(b, ['h1', 'h2']);

    await b.ofctl(['-O', 'OpenFlow13', 'add-flow', 'br0', 'actions=NORMAL']);
    await Promise.all([tcpTransfer(a, 'h1', 'h2'), tcpTransfer(b, 'h2', 'h1')]);
  });

  it('stop() removes namespaces, veths, processes and the run dir, and is idempotent', async () => {
    const lab = await pool.start(twoHosts());
    const sleeper = lab.spawn('h1', ['sleep', '600']);
    await new Promise((r) => setTimeout(r, 100));
    const vswitchd = Number(readFileSync(join(lab.runDir, 'ovs-vswitchd.pid'), 'utf8'));
    const ovsdb = Number(readFileSync(join(lab.runDir, 'ovsdb-server.pid'), 'utf8'));
    const namespaces = [lab.ovsNetns, lab.host('h1').netns, lab.host('h2').netns];
    const pids = [...netnsPids(lab.ovsNetns), ...netnsPids(lab.host('h1').netns)];
    expect(pids).toEqual(expect.arrayContaining([vswitchd, ovsdb, sleeper.pid]));
    expect(namespaces.every((ns) => netnsList().includes(ns))).toBe(true);

    await lab.stop();
    for (const ns of namespaces) expect(netnsList()).not.toContain(ns);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(lab.runDir)).toBe(false);
    expect(rootLinksOf(lab.id)).toEqual([]);
    await expect(lab.stop()).resolves.toBeUndefined();
  });

  it('lets a controller on the root loopback reach the bridge, and moves it with setController()', async () => {
    const first = await Acceptor.listen();
    const second = await Acceptor.listen();
    try {
      const lab = await pool.start({ bridges: [{ name: 'br0', controller: { host: '127.0.0.1', port: first.port } }], hosts: [] });
      const conn = await first.next();
      const hello = ofHeader(await readBytes(conn, 8));
      expect(hello.type).toBe(0);
      expect(hello.version).toBe(6); // highest of the default OpenFlow13..15

      const closed = new Promise<void>((r) => conn.once('close', () => r()));
      await lab.setController('br0', { host: '127.0.0.1', port: second.port });
      const conn2 = await second.next();
      expect(ofHeader(await readBytes(conn2, 8)).type).toBe(0);
      await closed; // the old controller connection is gone

      await lab.setController('br0', null);
      expect((await lab.vsctl(['get-controller', 'br0'])).trim()).toBe('');
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('carries TLS between the bridge and a controller on the root loopback (ssl: target, mutual certificates)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-labtls-'));
    const ssl = (args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }); };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    try {
      ssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=holdfast-test-ca', '-days', '1']);
      for (const who of ['controller', 'switch']) {
        ssl(['req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`]);
        ssl(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.crt`, '-days', '1']);
      }
      const read = (f: string): Buffer => readFileSync(join(dir, f));
      const server = createTlsServer({ key: read('controller.key'), cert: read('controller.crt'), ca: read('ca.crt'), requestCert: true, rejectUnauthorized: true });
      const accepted = new Promise<TLSSocket>((resolve, reject) => {
        server.once('secureConnection', resolve);
        setTimeout(() => reject(new Error('no TLS connection from the switch within 10 s')), 10_000).unref();
      });
      const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : 0);
      }));
      onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
      await pool.start({
        bridges: [{ name: 'br0', controller: { host: '127.0.0.1', port, tls: { key: join(dir, 'switch.key'), cert: join(dir, 'switch.crt'), ca: join(dir, 'ca.crt') } } }],
        hosts: [],
      });
      const sock = await accepted;
      try {
        expect(sock.authorized).toBe(true);
        expect(sock.getPeerCertificate().subject.CN).toBe('switch');
        const hello = ofHeader(await readBytes(sock, 8));
        expect(hello).toMatchObject({ type: 0, version: 6 });
      } finally {
        sock.destroy();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exposes the bridge's ptcp listener on the root loopback (OpenFlow HELLO), with the configured protocols", async () => {
    const lab = await pool.start({ bridges: [{ name: 'br0', listenPort: 6634, protocols: ['OpenFlow13'], datapathId: '00000000000000a1' }], hosts: [] });
    const port = lab.exposedListenPort('br0');
    expect(port).toBeGreaterThan(0);
    const sock = await connectTcp(port ?? 0);
    try {
      const hello = ofHeader(await readBytes(sock, 8));
      expect(hello.type).toBe(0);
      expect(hello.version).toBeGreaterThanOrEqual(4);
      expect(hello.version).toBeLessThanOrEqual(6);
      expect(hello.version).toBe(4);
    } finally {
      sock.destroy();
    }
    expect(await lab.ofctl(['-O', 'OpenFlow13', 'show', 'br0'])).toContain('dpid:00000000000000a1');
    expect(() => lab.exposedListenPort('br9')).toThrow(/no bridge/);
  });

  describe('in a separate owner process', () => {
    let out = '';
    beforeAll(() => { out = compileLabModule(); });
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('removes the lab of an owner that was SIGKILLed at the next start', async () => {
      const child = spawn('node', [join(out, 'cli.js'), 'up', '--hosts', '2', '--listen-port', '6634', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const info = JSON.parse(await waitLine(child, (l) => l.startsWith('{'), 20_000)) as { id: string; runDir: string; ovsNetns: string; hosts: Array<{ netns: string }> };
        const vswitchd = Number(readFileSync(join(info.runDir, 'ovs-vswitchd.pid'), 'utf8'));
        const namespaces = [info.ovsNetns, ...info.hosts.map((h) => h.netns)];
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        // A crash leaves everything behind...
        expect(namespaces.every((ns) => netnsList().includes(ns))).toBe(true);
        expect(alive(vswitchd)).toBe(true);

        // ...until the next lab starts.
        const next = await pool.start(twoHosts());
        expect(next.id).not.toBe(info.id);
        for (const ns of namespaces) expect(netnsList()).not.toContain(ns);
        expect(alive(vswitchd)).toBe(false);
        expect(existsSync(info.runDir)).toBe(false);
        // Our own live lab is not stale.
        expect(await cleanupStaleLabs()).not.toContain(next.id);
        expect(existsSync(next.runDir)).toBe(true);
      } finally {
        child.kill('SIGKILL');
        await cleanupStaleLabs();
      }
    });

    it.each(['SIGTERM', 'exit'] as const)('tears the lab down when the owner ends without stop() (%s)', async (how) => {
      const script = `
        const { startLab } = await import(${JSON.stringify(join(out, 'lab.js'))});
        const lab = await startLab({ bridges: [{ name: 'br0' }], hosts: [{ name: 'h1', bridge: 'br0', ip: '10.0.0.1/24' }] });
        lab.spawn('h1', ['sleep', '600']);
        console.log(JSON.stringify({ runDir: lab.runDir, namespaces: [lab.ovsNetns, lab.host('h1').netns] }));
        process.stdin.on('data', () => process.exit(3));
        setInterval(() => {}, 1000);`;
      const child = spawn('node', ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
      try {
        const info = JSON.parse(await waitLine(child, (l) => l.startsWith('{'), 20_000)) as { runDir: string; namespaces: string[] };
        const pids = info.namespaces.flatMap(netnsPids);
        expect(pids.length).toBeGreaterThanOrEqual(3); // ovsdb-server, ovs-vswitchd, sleep
        const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (code, sig) => r([code, sig])));
        if (how === 'SIGTERM') child.kill('SIGTERM');
        else child.stdin?.write('bye\n');
        // The hook keeps the signal's default effect, and the process's own exit code.
        expect(await exited).toEqual(how === 'SIGTERM' ? [null, 'SIGTERM'] : [3, null]);
        for (const ns of info.namespaces) expect(netnsList()).not.toContain(ns);
        for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
        expect(existsSync(info.runDir)).toBe(false);
      } finally {
        child.kill('SIGKILL');
        await cleanupStaleLabs();
      }
    });
  });
});
