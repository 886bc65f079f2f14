// Connection memory on Open vSwitch (issue 8): what the `ovs` profile's learned 5-tuple entries cost
// the switch, next to a plain select group (no memory) and a conntrack pipeline (what OVN does).
//
// Part 1, throughput: ONE lab (one userspace Open vSwitch, one bridge, client c1, backends b1..b3)
// carries three services side by side, each with its own VIP and backend port so their flows never
// overlap:
//   (a) ovs       10.0.0.100:80 → b*:8080  Holdfast (startHoldfast, in this process), `ovs` profile:
//                 bucket → metadata + resubmit(,1) → learn an exact 5-tuple entry per SYN
//   (b) plain     10.0.0.101:80 → b*:8081  a select group installed here with ovs-ofctl: buckets
//                 rewrite and output; stateless reverse rewrite (no connection memory at all)
//   (c) conntrack 10.0.0.102:80 → b*:8082  ct(zone, nat) → new: select group whose buckets do
//                 ct(commit, nat(dst=B:8082)); established: ct(nat) sends them to the same backend;
//                 replies un-NATed by ct(nat) (OVN's load balancer pipeline)
// (b) and (c) have as many buckets as Holdfast's group, each bucket on the backend that owns the
// same slot in (a). Their flows use a cookie and group ids outside Holdfast's claimed spaces, so the
// controller's reconciler leaves them alone. The same client (a node loop in c1: connect, send a
// line, read the answer, close; N in flight) opens a fixed number of connections to each VIP in
// turn, interleaved (a, b, c, a, b, c, …). Figures per run: connections/s, ovs-vswitchd CPU (utime +
// stime from /proc/<pid>/stat, all threads) per 1,000 connections during the load and including a
// settle window after it (learned entries end fin_idle_timeout = 2 s after the FIN and are
// reported to the controller; conntrack entries age out later), and this process's CPU (the
// controller) per 1,000 connections.
//
// Part 2, 100k remembered connections: TCP SYNs of distinct 5-tuples (sources 10.64.x.y, ports
// 20000-20999, unroutable from the backends so nothing answers) are written to c1's veth by a
// Python AF_PACKET sender, paced; every SYN takes the real datapath path (miss → upcall → learn).
// The bench resends until the switch holds the target count (resending a learned 5-tuple only hits
// its entry). Figures: ovs-vswitchd RSS before/after, time to install, the controller's count by
// backend (LbCore.countConnections: one aggregate request per backend), and a full flow dump
// of the entries over OpenFlow for comparison.
//
// Usage (root): node dist/tools/bench/conn-memory.js [--conns 5000] [--inflight 64] [--rounds 2]
//   [--settle-ms 3000] [--remember 100000] [--pps 10000] [--send-rounds 8] [--skip-throughput] [--skip-remember] [--json]
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { SwitchHandle } from '../../controller/index.js';
import { PIN_COOKIE_MASK_FOR_SERVICE } from '../../apps/lb/cookies.js';
import { OFPG, OFPP, OFPTT_ALL } from '../../openflow/types.js';
import { startHoldfast, type Running } from '../cli/start.js';
import { startLab, type Lab } from '../lab/lab.js';
import { runOk } from '../lab/proc.js';
import { fmtInt, numArg, percentiles, sleep } from './lb-common.js';
import { isMain, runAsScript } from './report.js';

export type Variant = 'ovs' | 'plain' | 'conntrack';
const VARIANTS: Variant[] = ['ovs', 'plain', 'conntrack'];
const VIP: Record<Variant, string> = { ovs: '10.0.0.100', plain: '10.0.0.101', conntrack: '10.0.0.102' };
const BACKEND_PORT: Record<Variant, number> = { ovs: 8080, plain: 8081, conntrack: 8082 };
const SERVICE_PORT = 80;
const BACKENDS = ['b1', 'b2', 'b3'];
/** Bench flows: a cookie kind no Holdfast app claims; groups far from Holdfast's ranges. */
const BENCH_COOKIE = 0x0bn << 56n;
const GROUP: Record<'plain' | 'conntrack', number> = { plain: 0x1000_0001, conntrack: 0x1000_0002 };
const CT_ZONE = 7;
/** Tables of the conntrack pipeline (Holdfast uses 0 and 1). */
const T = { ctIn: 20, deliver: 21, ctOut: 22 } as const;
const FAKE_VIP_MAC = '02:0b:00:00:00:01';

export interface ThroughputRun {
  variant: Variant;
  round: number;
  conns: number;
  failed: number;
  seconds: number;
  connsPerSec: number;
  /** ovs-vswitchd CPU ms per 1,000 connections, during the load only. */
  vswitchdMsPer1k: number;
  /** ...during the load plus the settle window after it (idle baseline of that window subtracted). */
  vswitchdMsPer1kSettled: number;
  /** This process (the controller) CPU ms per 1,000 connections, load + settle. */
  controllerMsPer1k: number;
  /** Datapath misses handed to ovs-vswitchd's slow path (upcalls) per connection, and how often
   * a flow-table change made the revalidators recheck every datapath flow, per 1,000 connections. */
  upcallsPerConn: number;
  revalidationsPer1k: number;
  /** ovs profile: packets that took a learn rule (SYNs) and the no-learn forward rule (stragglers). */
  learned?: number;
  forwardedUnlearned?: number;
}

export interface RememberResult {
  target: number;
  /** New entries learned from the injected SYNs (total minus the part 1 leftovers). */
  reached: number;
  /** Entries of part 1's connections still on the switch 6 s after the last run. */
  leftoverFromPart1: number;
  /** Entries on the switch at the end of each send round. */
  progress: { round: number; atSeconds: number; entries: number }[];
  method: string;
  sendRounds: number;
  offeredPps: number;
  /** NaN (null in JSON) when the target was not reached within sendRounds. */
  installSeconds: number | null;
  /** ovs-vswitchd CPU during the install (includes the flow dumps of later rounds and count polls). */
  installCpuMs: number;
  rssBeforeKiB: number;
  rssAfterInstallKiB: number;
  rssAfterCountKiB: number;
  /** After the datapath flows of the (idle) entries expired; glibc may keep freed memory. */
  rssIdleKiB: number;
  /** ovs-appctl memory/show after install and once datapath flows expired. */
  memoryAfterInstall: string;
  memoryIdle: string;
  datapathFlowsAfterInstall: string;
  /** LbCore.countConnections: one aggregate request per backend, all in parallel. */
  countMs: number[];
  countByBackend: Record<string, number>;
  /** One aggregate request for the whole service (cookie mask). */
  aggregateAllMs: number[];
  /** One OpenFlow flow-stats dump of every entry of the service. */
  dumpMs: number[];
  dumpFlows: number;
}

export interface ConnMemoryResult {
  node: string;
  ovs: string;
  slots: number;
  conns: number;
  inflight: number;
  settleMs: number;
  idleVswitchdMsPerSec: number;
  runs: ThroughputRun[];
  remember?: RememberResult;
}

export interface ConnMemoryOptions {
  conns: number;
  inflight: number;
  rounds: number;
  settleMs: number;
  remember: number;
  pps: number;
  /** At most this many passes of the SYN sender over the 5-tuples. */
  sendRounds: number;
  throughput: boolean;
  rememberPart: boolean;
}

const SERVER = (name: string, ports: number[]) => `
const net = require('net');
let n = 0;
for (const p of ${JSON.stringify(ports)}) {
  net.createServer((s) => { s.on('error', () => {}); s.once('data', () => s.end('${name}\\n')); })
    .listen({ port: p, backlog: 1024 }, () => { if (++n === ${ports.length}) console.log('ready'); });
}`;

/** Opens `total` connections, `inflight` at a time, after a "go" line on stdin; one JSON line at the end. */
const CLIENT = `
const net = require('net');
const [host, port, total, inflight] = [process.argv[1], +process.argv[2], +process.argv[3], +process.argv[4]];
let started = 0, done = 0, failed = 0, t0;
const errs = {};
function one() {
  if (started >= total) return;
  started++;
  let got = false;
  const s = net.connect({ host, port });
  s.setNoDelay(true);
  s.setTimeout(5000, () => s.destroy(new Error('timeout')));
  s.on('connect', () => s.write('x\\n'));
  s.on('data', () => { got = true; });
  s.on('end', () => s.end());
  s.on('error', (e) => { const k = e.code || e.message; errs[k] = (errs[k] || 0) + 1; });
  s.on('close', () => {
    if (!got) failed++;
    if (++done === total) {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      console.log(JSON.stringify({ ms, failed, errs }));
      process.exit(0);
    } else one();
  });
}
process.stdin.once('data', () => { t0 = process.hrtime.bigint(); for (let i = 0; i < inflight; i++) one(); });
console.log('ready');`;

/** Raw TCP SYNs of distinct 5-tuples on an interface (AF_PACKET), paced at pps. */
const SYN_SENDER = String.raw`
import socket, struct, sys, time
iface, smac, dmac, dip = sys.argv[1:5]
dport, start, count, pps = (int(x) for x in sys.argv[5:9])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
mac = lambda m: bytes(int(x, 16) for x in m.split(':'))
eth = mac(dmac) + mac(smac) + b'\x08\x00'
dipb = socket.inet_aton(dip)
def csum(b):
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return (~t) & 0xffff
batch = max(1, pps // 200)
t0 = time.time(); sent = 0
todo = range(start, start + count)
if len(sys.argv) > 9:
    with open(sys.argv[9]) as f: todo = [int(x) for x in f.read().split()]
for i in todo:
    k = i // 1000 + 1
    sipb = bytes([10, 64 + (k >> 16), (k >> 8) & 255, k & 255])
    sport = 20000 + i % 1000
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, i & 0xffff, 0, 64, 6, 0, sipb, dipb)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    tcp = struct.pack('!HHIIBBHHH', sport, dport, 1000 + i, 0, 5 << 4, 0x02, 65535, 0, 0)
    tcp = tcp[:16] + struct.pack('!H', csum(sipb + dipb + struct.pack('!BBH', 0, 6, 20) + tcp)) + tcp[18:]
    s.send(eth + ip + tcp + b'\0' * 6)
    sent += 1
    if sent % batch == 0:
        ahead = sent / pps - (time.time() - t0)
        if ahead > 0: time.sleep(ahead)
print(sent, round(time.time() - t0, 3), flush=True)
`;

/** The source of the sender's i-th SYN (same formula as SYN_SENDER). */
function synSource(i: number): string {
  const k = Math.floor(i / 1000) + 1;
  return `10.${64 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}:${20000 + (i % 1000)}`;
}

function lines(child: ChildProcess, onLine: (l: string) => void): void {
  let rest = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) onLine(p.trim());
  });
}

function firstLine(child: ChildProcess, what: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (c: string) => { stderr += c; });
    const t = setTimeout(() => reject(new Error(`${what}: no output in ${timeoutMs} ms ${stderr}`)), timeoutMs);
    lines(child, (l) => { clearTimeout(t); resolve(l); });
    child.once('exit', (c) => { clearTimeout(t); reject(new Error(`${what} exited (${c}) ${stderr}`)); });
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000, every = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

const CLK_TCK = 100;

function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime, stime (fields 14, 15)
}

function procRssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** What the load client reports: run time, failed connections by error. */
interface ClientResult { ms: number; failed: number; errs: Record<string, number> }

class Bench {
  running!: Running;
  lab!: Lab;
  sw!: SwitchHandle;
  vswitchdPid = 0;
  readonly dir = mkdtempSync(join(tmpdir(), 'hf-connmem-'));
  slots = 0;
  serviceId = 0;
  vmac = '';
  private servers: ChildProcess[] = [];

  async start(): Promise<void> {
    this.running = await startHoldfast({
      openflow: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 }, db: join(this.dir, 'holdfast.db'),
      logLevel: 'warn', handleSignals: false, out: new PassThrough(),
      // The bench asks for counts itself (part 2 times them); no periodic flow dumps of 100k entries.
      tuning: { lb: { connCountIntervalMs: 3_600_000, pinAuditIntervalMs: 3_600_000 } },
    });
    const { controller } = this.running;
    this.lab = await startLab({
      name: 'bench-connmem',
      bridges: [{ name: 'br0', controller: { host: '127.0.0.1', port: this.running.openflow.port } }],
      hosts: [
        { name: 'c1', bridge: 'br0', ip: '10.0.0.1/24' },
        ...BACKENDS.map((name, i) => ({ name, bridge: 'br0', ip: `10.0.0.${11 + i}/24` })),
      ],
    });
    await until('the switch to connect', () => controller.switches().length === 1);
    this.sw = controller.switches()[0]!;
    this.vswitchdPid = Number(readFileSync(join(this.lab.runDir, 'ovs-vswitchd.pid'), 'utf8').trim());
    const c1 = this.lab.host('c1');
    // Many short connections from one address: the whole ephemeral range, so ports are not reused soon.
    await this.lab.exec('c1', ['sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65535']);
    for (const v of ['plain', 'conntrack'] as const) {
      await runOk('ip', ['-n', c1.netns, 'neigh', 'replace', VIP[v], 'lladdr', FAKE_VIP_MAC, 'dev', c1.veth, 'nud', 'permanent']);
    }
    for (const b of BACKENDS) {
      const child = this.lab.spawn(b, ['node', '-e', SERVER(b, Object.values(BACKEND_PORT))]);
      this.servers.push(child);
      await firstLine(child, `server ${b}`);
    }
  }

  async installOvsService(): Promise<void> {
    const { lb } = this.running;
    lb.addService({ name: 'ovs', vip: VIP.ovs, port: SERVICE_PORT, mode: 'nat', proto: 'tcp' });
    for (const b of BACKENDS) {
      const h = this.lab.host(b);
      lb.addBackend('ovs', { ip: h.ip, port: BACKEND_PORT.ovs, weight: 1, mac: h.mac, switchPort: h.ofport });
    }
    await until('backends active, no migrations', () => {
      const s = lb.getService('ovs');
      return s.migrations.length === 0 && lb.listBackends('ovs').every((b) => b.state === 'active' && b.slots > 0);
    });
    const profile = lb.status().switches[0]?.profile;
    if (profile !== 'ovs') throw new Error(`the switch is in profile ${profile}, not ovs`);
    const s = lb.getService('ovs');
    this.slots = s.slotOwners.length;
    this.serviceId = s.id;
    this.vmac = s.vmac;
    await until('learn rules on the switch', async () => (await this.lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br0', 'table=1'])).includes('learn('));
  }

  /** Bucket i of the bench's groups goes to the backend owning Holdfast's slot i. */
  private bucketBackends(): string[] {
    const owners = this.running.lb.getService('ovs').slotOwners;
    const byKey = new Map(BACKENDS.map((b) => [`${this.lab.host(b).ip}:${BACKEND_PORT.ovs}`, b]));
    return owners.map((k, i) => (k && byKey.get(k)) || BACKENDS[i % BACKENDS.length]);
  }

  private async addFlows(flows: string[]): Promise<void> {
    const file = join(this.dir, `flows-${Date.now()}.txt`);
    writeFileSync(file, flows.join('\n') + '\n');
    await this.lab.ofctl(['-O', 'OpenFlow15', 'add-flows', 'br0', file]);
  }

  private async addGroup(spec: string): Promise<void> {
    const file = join(this.dir, `group-${Date.now()}.txt`);
    writeFileSync(file, spec + '\n');
    await this.lab.ofctl(['-O', 'OpenFlow15', 'add-groups', 'br0', file]);
  }

  /** (b): select group, buckets rewrite + output; reverse rewrite per backend. */
  async installPlain(): Promise<void> {
    const cookie = `0x${(BENCH_COOKIE | 2n).toString(16)}`;
    const port = BACKEND_PORT.plain;
    const buckets = this.bucketBackends().map((b) => {
      const h = this.lab.host(b);
      return `bucket=actions=set_field:${h.mac}->eth_dst,set_field:${h.ip}->ip_dst,set_field:${port}->tcp_dst,output:${h.ofport}`;
    });
    await this.addGroup(`group_id=${GROUP.plain},type=select,${buckets.join(',')}`);
    await this.addFlows([
      `cookie=${cookie},table=0,priority=20000,tcp,nw_dst=${VIP.plain},tp_dst=${SERVICE_PORT},actions=group:${GROUP.plain}`,
      ...BACKENDS.map((b) => `cookie=${cookie},table=0,priority=20000,tcp,nw_src=${this.lab.host(b).ip},tp_src=${port},` +
        `actions=set_field:${VIP.plain}->ip_src,set_field:${SERVICE_PORT}->tcp_src,NORMAL`),
    ]);
  }

  /** (c): conntrack with nat, OVN style. */
  async installConntrack(): Promise<void> {
    const cookie = `0x${(BENCH_COOKIE | 3n).toString(16)}`;
    const port = BACKEND_PORT.conntrack;
    const z = CT_ZONE;
    const buckets = this.bucketBackends().map((b) =>
      `bucket=actions=ct(commit,zone=${z},table=${T.deliver},nat(dst=${this.lab.host(b).ip}:${port}))`);
    await this.addGroup(`group_id=${GROUP.conntrack},type=select,${buckets.join(',')}`);
    const f = (s: string) => `cookie=${cookie},${s}`;
    await this.addFlows([
      // Client → VIP: through conntrack (nat: an established connection gets its backend back).
      f(`table=0,priority=20000,tcp,nw_dst=${VIP.conntrack},tp_dst=${SERVICE_PORT},actions=ct(zone=${z},nat,table=${T.ctIn})`),
      f(`table=${T.ctIn},priority=100,ct_state=+new+trk,tcp,nw_dst=${VIP.conntrack},tp_dst=${SERVICE_PORT},actions=group:${GROUP.conntrack}`),
      f(`table=${T.ctIn},priority=100,ct_state=+est+trk,tcp,actions=resubmit(,${T.deliver})`),
      f(`table=${T.ctIn},priority=0,actions=drop`),
      // After nat the destination is the backend: deliver.
      ...BACKENDS.map((b) => {
        const h = this.lab.host(b);
        return f(`table=${T.deliver},priority=100,tcp,nw_dst=${h.ip},tp_dst=${port},actions=set_field:${h.mac}->eth_dst,output:${h.ofport}`);
      }),
      // Backend → client: conntrack undoes the nat (source becomes VIP:80).
      ...BACKENDS.map((b) => f(`table=0,priority=20000,tcp,nw_src=${this.lab.host(b).ip},tp_src=${port},actions=ct(zone=${z},nat,table=${T.ctOut})`)),
      f(`table=${T.ctOut},priority=100,ct_state=+est+trk,tcp,actions=NORMAL`),
      f(`table=${T.ctOut},priority=0,actions=drop`),
    ]);
  }

  /** Packets through the ovs profile's learn (priority 101) and no-learn (100) rules of table 1. */
  async learnTableCounts(): Promise<{ learned: number; forwarded: number }> {
    const out = await this.lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br0', 'table=1']);
    let learned = 0;
    let forwarded = 0;
    for (const l of out.split('\n')) {
      const n = Number(/n_packets=(\d+)/.exec(l)?.[1] ?? 0);
      if (/priority=101\b/.test(l)) learned += n;
      else if (/priority=100\b/.test(l)) forwarded += n;
    }
    return { learned, forwarded };
  }

  /** Starts the load client in c1 and waits until it is ready (node start-up stays outside any
   * measurement); `go` starts the connections, `answered` resolves at its result line, `result`
   * waits for its exit and parses that line. */
  private async readyClient(v: Variant, conns: number, inflight: number): Promise<{ go(): void; answered(): Promise<void>; result(): Promise<ClientResult> }> {
    const child = this.lab.spawn('c1', ['node', '-e', CLIENT, VIP[v], String(SERVICE_PORT), String(conns), String(inflight)]);
    const out: string[] = [];
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (c: string) => { stderr += c; });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    lines(child, (l) => out.push(l));
    await until('client ready', () => out.length > 0 || child.exitCode !== null, 10_000, 5);
    if (out[0] !== 'ready') throw new Error(`client: ${out[0]} ${stderr}`);
    const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
    return {
      go: () => { child.stdin?.write('go\n'); },
      answered: () => until('client result', () => out.length > 1 || child.exitCode !== null, 130_000, 2),
      result: async () => {
        const code = await exited;
        clearTimeout(kill);
        const last = out[out.length - 1];
        if (code !== 0 || !last?.startsWith('{')) throw new Error(`client to ${v} failed (exit ${code}): ${stderr.slice(-500)}`);
        return JSON.parse(last) as ClientResult;
      },
    };
  }

  async clientRun(v: Variant, conns: number, inflight: number): Promise<ClientResult> {
    const c = await this.readyClient(v, conns, inflight);
    c.go();
    return c.result();
  }

  /** One measured run of a variant. The client's node start-up is outside the CPU window. */
  async measure(v: Variant, round: number, o: ConnMemoryOptions, idleMsPerSec: number): Promise<ThroughputRun> {
    const before = v === 'ovs' ? await this.learnTableCounts() : undefined;
    const client = await this.readyClient(v, o.conns, o.inflight);
    const c0 = await this.counters();
    const cpu0 = procCpuMs(this.vswitchdPid);
    const self0 = selfCpuMs();
    client.go();
    await client.answered();
    const cpu1 = procCpuMs(this.vswitchdPid);
    const r = await client.result();
    await sleep(o.settleMs);
    const cpu2 = procCpuMs(this.vswitchdPid);
    const self2 = selfCpuMs();
    const c2 = await this.counters();
    const k = o.conns / 1000;
    const run: ThroughputRun = {
      variant: v, round, conns: o.conns, failed: r.failed, seconds: r.ms / 1000, connsPerSec: o.conns / (r.ms / 1000),
      vswitchdMsPer1k: (cpu1 - cpu0) / k,
      vswitchdMsPer1kSettled: (cpu2 - cpu0 - (idleMsPerSec * o.settleMs) / 1000) / k,
      controllerMsPer1k: (self2 - self0) / k,
      upcallsPerConn: (c2.upcalls - c0.upcalls) / o.conns,
      revalidationsPer1k: (c2.revFlowTable - c0.revFlowTable) / k,
    };
    if (before) {
      const after = await this.learnTableCounts();
      run.learned = after.learned - before.learned;
      run.forwardedUnlearned = after.forwarded - before.forwarded;
    }
    if (r.failed > 0) process.stderr.write(`conn-memory: ${v} round ${round}: ${r.failed} failed ${JSON.stringify(r.errs)}\n`);
    return run;
  }

  /** Upcalls handled (dpif-netdev pmd stats, all threads) and coverage counters. */
  async counters(): Promise<{ upcalls: number; revFlowTable: number }> {
    const pmd = await this.lab.appctl(['dpif-netdev/pmd-stats-show']);
    let upcalls = 0;
    for (const m of pmd.matchAll(/miss with success upcall:\s*(\d+)/g)) upcalls += Number(m[1]);
    const cov = await this.lab.appctl(['coverage/show']);
    const total = (name: string) => Number(new RegExp(`^${name}\\s.*total: (\\d+)`, 'm').exec(cov)?.[1] ?? 0);
    return { upcalls, revFlowTable: total('rev_flow_table') };
  }

  async idleRate(ms = 3000): Promise<number> {
    const a = procCpuMs(this.vswitchdPid);
    await sleep(ms);
    return ((procCpuMs(this.vswitchdPid) - a) * 1000) / ms;
  }

  stopServers(): void {
    for (const s of this.servers) if (s.exitCode === null) s.kill('SIGKILL');
  }

  /** "srcIp:srcPort" of every learned entry of the service (one flow dump). */
  async learnedSources(cookie: bigint, mask: bigint): Promise<Set<string>> {
    const parts = await this.sw.multipart({
      kind: 'flow', body: { tableId: OFPTT_ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie, cookieMask: mask, match: [] },
    }, 120_000);
    const have = new Set<string>();
    for (const p of parts) {
      if (p.kind !== 'flow') continue;
      for (const f of p.flows) {
        let ip = '';
        let port = 0;
        for (const m of f.match) {
          if (m.kind !== 'basic') continue;
          if (m.name === 'ipv4_src') ip = String(m.value);
          else if (m.name === 'tcp_src') port = Number(m.value);
        }
        have.add(`${ip}:${port}`);
      }
    }
    return have;
  }

  async aggregate(cookie: bigint, mask: bigint): Promise<number> {
    const parts = await this.sw.multipart({
      kind: 'aggregate', body: { tableId: OFPTT_ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie, cookieMask: mask, match: [] },
    }, 30_000);
    const agg = parts.find((p) => p.kind === 'aggregate');
    return agg && agg.kind === 'aggregate' ? agg.flowCount : NaN;
  }

  async remember(o: ConnMemoryOptions): Promise<RememberResult> {
    const { lb } = this.running;
    const all = PIN_COOKIE_MASK_FOR_SERVICE(this.serviceId);
    this.stopServers();
    // Entries of part 1 end fin_idle_timeout after their FIN; any still there after that outlived
    // their connection (they end at the 300 s idle timeout) and are counted apart.
    await sleep(Math.max(0, 6000 - o.settleMs));
    const leftover = await this.aggregate(all.cookie, all.mask);
    if (leftover > 0) {
      const sample = (await this.lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br0', `cookie=0x${all.cookie.toString(16)}/0x${all.mask.toString(16)}`]))
        .split('\n').filter((l) => l.includes('priority=40000')).slice(0, 3);
      process.stderr.write(`conn-memory: ${leftover} entries of part 1 still on the switch, e.g.\n${sample.join('\n')}\n`);
    }
    const target = leftover + o.remember;
    const c1 = this.lab.host('c1');
    const rssBefore = procRssKiB(this.vswitchdPid);
    const cpuBefore = procCpuMs(this.vswitchdPid);
    const t0 = performance.now();
    let reached = 0;
    let rounds = 0;
    let installMs = NaN;
    const progress: { round: number; atSeconds: number; entries: number }[] = [];
    while (rounds < o.sendRounds) {
      rounds++;
      let only: string[] = [];
      if (rounds > 1) {
        // Later rounds send only the 5-tuples the switch did not learn (from a flow dump).
        const have = await this.learnedSources(all.cookie, all.mask);
        const missing: number[] = [];
        for (let i = 0; i < o.remember; i++) if (!have.has(synSource(i))) missing.push(i);
        const file = join(this.dir, `missing-${rounds}.txt`);
        writeFileSync(file, missing.join('\n'));
        only = [file];
      }
      const sender = this.lab.spawn('c1', ['python3', '-c', SYN_SENDER, c1.veth, c1.mac, this.vmac, VIP.ovs,
        String(SERVICE_PORT), '0', String(o.remember), String(o.pps), ...only]);
      let stderr = '';
      sender.stderr?.setEncoding('utf8');
      sender.stderr?.on('data', (c: string) => { stderr += c; });
      const done = new Promise<number | null>((r) => sender.once('exit', (c) => r(c)));
      let exited = false;
      void done.then(() => { exited = true; });
      let quietSince = 0;
      let last = -1;
      for (;;) {
        await sleep(250);
        reached = await this.aggregate(all.cookie, all.mask);
        if (reached >= target) {
          installMs = performance.now() - t0;
          break;
        }
        if (exited) {
          if (reached !== last) { last = reached; quietSince = Date.now(); }
          if (Date.now() - quietSince > 1500) break; // the switch is done with what it got: send again
        }
      }
      if (!exited) sender.kill('SIGKILL');
      const code = await done;
      if (code !== 0 && code !== null && !(reached >= target)) throw new Error(`SYN sender failed (${code}): ${stderr.slice(-500)}`);
      progress.push({ round: rounds, atSeconds: (performance.now() - t0) / 1000, entries: reached - leftover });
      if (reached >= target) break;
    }
    const rssAfterInstall = procRssKiB(this.vswitchdPid);
    const installCpuMs = procCpuMs(this.vswitchdPid) - cpuBefore;
    const upcall = await this.lab.appctl(['upcall/show']);
    const dpFlows = /flows\s*:\s*\(current (\d+)\)/.exec(upcall)?.[1] ?? upcall.split('\n').find((l) => l.includes('flows'))?.trim() ?? '?';

    const memoryAfterInstall = (await this.lab.appctl(['memory/show'])).trim();
    const countMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await lb.countConnections();
      countMs.push(performance.now() - t);
    }
    const countByBackend: Record<string, number> = {};
    for (const b of lb.listBackends('ovs')) countByBackend[b.key] = b.connections;
    const aggregateAllMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await this.aggregate(all.cookie, all.mask);
      aggregateAllMs.push(performance.now() - t);
    }
    const dumpMs: number[] = [];
    let dumpFlows = 0;
    for (let i = 0; i < 2; i++) {
      const t = performance.now();
      const parts = await this.sw.multipart({
        kind: 'flow', body: { tableId: OFPTT_ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: all.cookie, cookieMask: all.mask, match: [] },
      }, 120_000);
      dumpMs.push(performance.now() - t);
      dumpFlows = parts.reduce((n, p) => n + (p.kind === 'flow' ? p.flows.length : 0), 0);
    }
    const rssAfterCount = procRssKiB(this.vswitchdPid);
    // Idle connections keep their entries but not their datapath flows (10 s idle): RSS once those went.
    await until('datapath flows to expire', async () => {
      const m = /udpif keys:(\d+)/.exec(await this.lab.appctl(['memory/show']));
      return m !== null && Number(m[1]) < 100;
    }, 40_000, 1000).catch(() => undefined);
    const memoryIdle = (await this.lab.appctl(['memory/show'])).trim();
    const rssIdle = procRssKiB(this.vswitchdPid);
    // Sanity: the per-backend cookies the controller uses add up to the service's total.
    const sum = Object.values(countByBackend).reduce((a, b) => a + b, 0);
    if (Math.abs(sum - reached) > reached * 0.01) {
      process.stderr.write(`conn-memory: per-backend counts add up to ${sum}, the service holds ${reached}\n`);
    }
    return {
      target: o.remember, reached: reached - leftover, leftoverFromPart1: leftover, progress, sendRounds: rounds, installCpuMs, offeredPps: o.pps, installSeconds: installMs / 1000,
      method: 'TCP SYNs written to c1\'s veth by a Python AF_PACKET sender (real upcall path), resent until the switch held them all',
      rssBeforeKiB: rssBefore, rssAfterInstallKiB: rssAfterInstall, rssAfterCountKiB: rssAfterCount, rssIdleKiB: rssIdle, memoryAfterInstall, memoryIdle,
      datapathFlowsAfterInstall: dpFlows, countMs, countByBackend, aggregateAllMs, dumpMs, dumpFlows,
    };
  }

  async stop(): Promise<void> {
    this.stopServers();
    await this.lab?.stop();
    await this.running?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function runConnMemoryBench(o: ConnMemoryOptions): Promise<ConnMemoryResult> {
  const b = new Bench();
  try {
    await b.start();
    await b.installOvsService();
    await b.installPlain();
    await b.installConntrack();
    const ovsVersion = (await runOk('ovs-vswitchd', ['--version'])).split('\n')[0]?.trim() ?? '';
    const runs: ThroughputRun[] = [];
    let idle = 0;
    if (o.throughput) {
      // Warm-up: every path once (ARP, datapath flows, JIT of the client).
      for (const v of VARIANTS) {
        const r = await b.clientRun(v, 300, Math.min(o.inflight, 16));
        if (r.failed > 0) throw new Error(`warm-up to ${v}: ${r.failed} of 300 failed ${JSON.stringify(r.errs)}`);
      }
      await sleep(o.settleMs);
      idle = await b.idleRate();
      for (let round = 1; round <= o.rounds; round++) {
        for (const v of VARIANTS) runs.push(await b.measure(v, round, o, idle));
      }
    }
    if (runs.length > 0) process.stderr.write(`part 1 (printed now in case part 2 fails):\n${formatConnMemory({ node: process.version, ovs: ovsVersion, slots: b.slots, conns: o.conns, inflight: o.inflight, settleMs: o.settleMs, idleVswitchdMsPerSec: idle, runs })}\n`);
    const remember = o.rememberPart ? await b.remember(o) : undefined;
    return {
      node: process.version, ovs: ovsVersion, slots: b.slots, conns: o.conns, inflight: o.inflight, settleMs: o.settleMs,
      idleVswitchdMsPerSec: idle, runs, remember,
    };
  } finally {
    await b.stop();
  }
}

export function formatConnMemory(r: ConnMemoryResult): string {
  const out: string[] = [];
  out.push(`connection memory on Open vSwitch (${r.ovs}; ${r.slots} buckets per group; ${r.conns} connections per run, ${r.inflight} in flight)`);
  if (r.runs.length > 0) {
    out.push(`ovs-vswitchd idle: ${r.idleVswitchdMsPerSec.toFixed(1)} ms CPU/s (subtracted from the settled figure); settle window ${r.settleMs} ms`);
    out.push('variant    round  conn/s   failed  vswitchd ms/1k (load)  (load+settle)  controller ms/1k  upcalls/conn  flow-table revalidations/1k  learned SYNs / unlearned pkts');
    for (const x of r.runs) {
      out.push(`${x.variant.padEnd(10)} ${String(x.round).padStart(5)}  ${x.connsPerSec.toFixed(0).padStart(6)}  ${String(x.failed).padStart(6)}  ` +
        `${x.vswitchdMsPer1k.toFixed(0).padStart(21)}  ${x.vswitchdMsPer1kSettled.toFixed(0).padStart(13)}  ${x.controllerMsPer1k.toFixed(0).padStart(16)}  ` +
        `${x.upcallsPerConn.toFixed(2).padStart(12)}  ${x.revalidationsPer1k.toFixed(0).padStart(27)}  ` +
        `${x.learned !== undefined ? `${x.learned} / ${x.forwardedUnlearned}` : ''}`);
    }
    const med = (v: Variant, f: (x: ThroughputRun) => number) => percentiles(r.runs.filter((x) => x.variant === v).map(f), [0.5])[0];
    const base = { rate: med('plain', (x) => x.connsPerSec), cpu: med('plain', (x) => x.vswitchdMsPer1k) };
    out.push('relative to plain (median of runs): ' + VARIANTS.map((v) =>
      `${v} ${(med(v, (x) => x.connsPerSec) / base.rate).toFixed(2)}× conn/s, ${(med(v, (x) => x.vswitchdMsPer1k) / base.cpu).toFixed(2)}× CPU/conn`).join('; '));
  }
  const m = r.remember;
  if (m) {
    if (m.leftoverFromPart1 > 0) out.push(`(${fmtInt(m.leftoverFromPart1)} entries of part 1's closed connections were still on the switch 6 s after its last run; not counted below)`);
    out.push(`remembered connections (ovs profile): ${fmtInt(m.reached)} of ${fmtInt(m.target)} learned in ${m.installSeconds === null || !Number.isFinite(m.installSeconds) ? `(not all; ${m.progress.at(-1)?.atSeconds.toFixed(1)} s spent)` : `${m.installSeconds.toFixed(1)} s`} ` +
      `(${m.sendRounds} send round(s) at ${fmtInt(m.offeredPps)} SYN/s offered; ${m.method})`);
    out.push(`  ovs-vswitchd CPU during the install: ${fmtInt(m.installCpuMs)} ms (${(m.installCpuMs / (m.reached / 1000)).toFixed(0)} ms per 1,000 entries, dumps and polls included)`);
    out.push(`  entries after each round: ${m.progress.map((p) => `${fmtInt(p.entries)} at ${p.atSeconds.toFixed(1)} s`).join(', ')}`);
    out.push(`  ovs-vswitchd RSS: before ${fmtInt(m.rssBeforeKiB)} KiB, after install ${fmtInt(m.rssAfterInstallKiB)} KiB ` +
      `(+${fmtInt(m.rssAfterInstallKiB - m.rssBeforeKiB)} KiB, ${(((m.rssAfterInstallKiB - m.rssBeforeKiB) * 1024) / Math.max(1, m.reached)).toFixed(0)} B/entry), ` +
      `after counting and dumps ${fmtInt(m.rssAfterCountKiB)} KiB; datapath flows after install: ${m.datapathFlowsAfterInstall}`);
    out.push(`  memory/show after install: ${m.memoryAfterInstall}`);
    out.push(`  once datapath flows expired: RSS ${fmtInt(m.rssIdleKiB)} KiB; memory/show: ${m.memoryIdle}`);
    out.push(`  controller count by backend (${Object.keys(m.countByBackend).length} aggregate requests): ${m.countMs.map((x) => x.toFixed(0)).join(', ')} ms ` +
      `→ ${Object.entries(m.countByBackend).map(([k, n]) => `${k} ${fmtInt(n)}`).join(', ')}`);
    out.push(`  one aggregate for the whole service: ${m.aggregateAllMs.map((x) => x.toFixed(0)).join(', ')} ms; ` +
      `full flow dump (${fmtInt(m.dumpFlows)} flows): ${m.dumpMs.map((x) => x.toFixed(0)).join(', ')} ms`);
  }
  return out.join('\n');
}

export function connMemoryOptionsFrom(argv: readonly string[]): ConnMemoryOptions {
  return {
    conns: numArg(argv, 'conns', 5000),
    inflight: numArg(argv, 'inflight', 64),
    rounds: numArg(argv, 'rounds', 2),
    settleMs: numArg(argv, 'settle-ms', 3000),
    remember: numArg(argv, 'remember', 100_000),
    pps: numArg(argv, 'pps', 10_000),
    sendRounds: numArg(argv, 'send-rounds', 8),
    throughput: !argv.includes('--skip-throughput'),
    rememberPart: !argv.includes('--skip-remember'),
  };
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  runAsScript('conn-memory', argv, () => runConnMemoryBench(connMemoryOptionsFrom(argv)), formatConnMemory);
}
