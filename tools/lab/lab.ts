// The Open vSwitch lab: a userspace Open vSwitch (ovsdb-server + ovs-vswitchd --disable-system,
// netdev bridges) in its own network namespace and run directory, hosts in network namespaces
// joined to bridges by veth pairs, and loopback bridges between the root namespace (where the
// controller under test listens) and the lab namespace. Everything is torn down by stop(), by an
// exit/signal hook of the owner process, or by cleanupStaleLabs() after the owner crashed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureLabDependencies, OVS_SCHEMA } from './deps.js';
import { tcpToUnix, unixToTcp, type Forwarder } from './forward.js';
import { controllerTarget, labRoot, newLabId, planLab, type LabController, type LabPlan, type PlannedBridge, type PlannedHost, type LabSpec, type LabBridgeSpec } from './plan.js';
import { run, runOk, sleep, processStartTime, type RunResult } from './proc.js';
import { cleanupStaleLabsSync, teardownSync, writeState } from './state.js';

export type { LabSpec, LabBridgeSpec, LabHostSpec, LabController, LabTls } from './plan.js';
export { LabSpecError } from './plan.js';
export { ensureLabDependencies } from './deps.js';
export { CommandError, type RunResult } from './proc.js';

export interface LabHost {
  netns: string;
  /** IPv4 address without prefix. */
  ip: string;
  prefixLen: number;
  /** "ip/prefix". */
  cidr: string;
  mac: string;
  ofport: number;
  /** Host end of the veth pair (inside netns). */
  veth: string;
  /** Switch end of the veth pair: the bridge port's name. */
  port: string;
  bridge: string;
}

export interface Lab {
  readonly id: string;
  readonly runDir: string;
  readonly ovsNetns: string;
  host(name: string): LabHost;
  exec(host: string, cmd: string[], opts?: { timeoutMs?: number; input?: string }): Promise<RunResult>;
  /** Starts a program inside a host namespace; it is killed at stop(). */
  spawn(host: string, cmd: string[]): ChildProcess;
  /** ovs-ofctl against this lab; throws with stderr on failure. */
  ofctl(args: string[]): Promise<string>;
  vsctl(args: string[]): Promise<string>;
  /** ovs-appctl against this lab's ovs-vswitchd. */
  appctl(args: string[]): Promise<string>;
  setController(bridge: string, target: LabBridgeSpec['controller']): Promise<void>;
  /** Root-loopback TCP port reaching the bridge's ptcp listener, if it has one. */
  exposedListenPort(bridge: string): number | undefined;
  /** Last lines of the ovs-vswitchd log (for failure messages). */
  vswitchdLog(lines?: number): string;
  /** Idempotent, never throws: kills everything the lab started, deletes namespaces, veths, run dir. */
  stop(): Promise<void>;
}

/** Finds labs whose owner process is gone and removes them; returns their ids. */
export async function cleanupStaleLabs(): Promise<string[]> {
  return cleanupStaleLabsSync();
}

/** Starts a lab. Stale labs of dead owners are cleaned first. */
export async function startLab(spec: LabSpec): Promise<Lab> {
  await ensureLabDependencies();
  await cleanupStaleLabs();
  mkdirSync(labRoot(), { recursive: true });
  let id = newLabId();
  for (let tries = 0; ; tries++) {
    try {
      mkdirSync(join(labRoot(), id));
      break;
    } catch (err) {
      if (tries > 20) throw err;
      id = newLabId();
    }
  }
  const runDir = join(labRoot(), id);
  let plan: LabPlan;
  try {
    plan = planLab(spec, id, runDir);
  } catch (err) {
    teardownSync({ id, runDir, namespaces: [] });
    throw err;
  }
  writeState({ version: 1, id, name: spec.name, ownerPid: process.pid, ownerStart: processStartTime(process.pid), createdAt: new Date().toISOString(), runDir, namespaces: plan.namespaces });
  const lab = new OvsLab(plan);
  owned.add(lab);
  installHooks();
  try {
    await lab.build();
  } catch (err) {
    const log = lab.vswitchdLog(15);
    await lab.stop();
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`lab ${id} failed to start: ${msg}${log ? `\n--- ovs-vswitchd log ---\n${log}` : ''}`, { cause: err });
  }
  return lab;
}

// ---- owner hooks: tear down synchronously if the process exits without stop() ----

const owned = new Set<OvsLab>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooked = false;

function teardownOwned(): void {
  for (const lab of owned) lab.stopSync();
  owned.clear();
}

function onSignal(sig: NodeJS.Signals): void {
  teardownOwned();
  uninstallHooks();
  // Keep the signal's default effect unless someone else handles it.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', teardownOwned);
  for (const sig of SIGNALS) process.on(sig, onSignal);
}

function uninstallHooks(): void {
  if (!hooked) return;
  hooked = false;
  process.removeListener('exit', teardownOwned);
  for (const sig of SIGNALS) process.removeListener(sig, onSignal);
}

// ---- the lab ----

interface ActiveProxy { labPort: number; socat: ChildProcess; fwd: Forwarder; target: LabController }
interface ListenProxy { rootPort: number; socat: ChildProcess; fwd: Forwarder }
interface BridgeRuntime { spec: PlannedBridge; active?: ActiveProxy; more: ActiveProxy[]; listen?: ListenProxy }

/** First port used inside the lab namespace for controller proxies (the namespace is private). */
const FIRST_LAB_PORT = 16_000;

class OvsLab implements Lab {
  readonly id: string;
  readonly runDir: string;
  readonly ovsNetns: string;
  private readonly bridges = new Map<string, BridgeRuntime>();
  private readonly hosts: Map<string, PlannedHost>;
  private readonly children = new Set<ChildProcess>();
  private nextLabPort = FIRST_LAB_PORT;
  private stopping?: Promise<void>;
  private stopped = false;

  constructor(private readonly plan: LabPlan) {
    this.id = plan.id;
    this.runDir = plan.runDir;
    this.ovsNetns = plan.ovsNetns;
    this.hosts = new Map(plan.hosts.map((h) => [h.name, h]));
    for (const b of plan.bridges) this.bridges.set(b.name, { spec: b, more: [] });
  }

  private get ovsEnv(): NodeJS.ProcessEnv {
    const d = this.runDir;
    return { ...process.env, OVS_RUNDIR: d, OVS_DBDIR: d, OVS_LOGDIR: d, OVS_SYSCONFDIR: d };
  }

  private inOvsNs(cmd: string, args: string[]): Promise<string> {
    return runOk('ip', ['netns', 'exec', this.ovsNetns, cmd, ...args], { env: this.ovsEnv });
  }

  async build(): Promise<void> {
    const { plan } = this;
    for (const ns of plan.namespaces) {
      await runOk('ip', ['netns', 'add', ns]);
      await runOk('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    if (!plan.ipv6) {
      await Promise.all(plan.hosts.map((h) => runOk('ip', ['netns', 'exec', h.netns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'])));
    }
    const d = this.runDir;
    await runOk('ovsdb-tool', ['create', join(d, 'conf.db'), OVS_SCHEMA]);
    // --detach returns once the daemon is ready to serve.
    await this.inOvsNs('ovsdb-server', [join(d, 'conf.db'), `--remote=punix:${join(d, 'db.sock')}`, `--pidfile=${join(d, 'ovsdb-server.pid')}`,
      `--unixctl=${join(d, 'ovsdb-server.ctl')}`, `--log-file=${join(d, 'ovsdb-server.log')}`, '--detach', '--no-chdir']);
    await this.vsctl(['--no-wait', 'init']);
    await this.inOvsNs('ovs-vswitchd', [`unix:${join(d, 'db.sock')}`, '--disable-system', `--pidfile=${join(d, 'ovs-vswitchd.pid')}`,
      `--unixctl=${join(d, 'ovs-vswitchd.ctl')}`, `--log-file=${join(d, 'ovs-vswitchd.log')}`, '--detach', '--no-chdir']);

    await Promise.all(plan.hosts.map((h) => this.buildHost(h)));

    // One transaction for all bridges and ports; ovs-vsctl waits until ovs-vswitchd applied it.
    const tx: string[] = [];
    for (const b of plan.bridges) {
      tx.push('--', 'add-br', b.name, '--', 'set', 'Bridge', b.name, 'datapath_type=netdev', 'fail_mode=secure', `protocols=${b.protocols.join(',')}`,
        'other_config:disable-in-band=true', ...(b.datapathId ? [`other_config:datapath-id=${b.datapathId}`] : []));
    }
    for (const h of plan.hosts) tx.push('--', 'add-port', h.bridge, h.port, '--', 'set', 'Interface', h.port, `ofport_request=${h.ofport}`);
    await this.vsctl(tx);
    const ofports = new Map((await this.vsctl(['--format=csv', '--no-headings', '--columns=name,ofport', 'list', 'Interface']))
      .trim().split('\n').map((l) => l.split(',') as [string, string]).map(([n, p]) => [n.replace(/"/g, ''), Number(p)]));
    for (const h of plan.hosts) {
      if (ofports.get(h.port) !== h.ofport) throw new Error(`port ${h.port} of host ${h.name} got ofport ${ofports.get(h.port)}, wanted ${h.ofport}`);
    }

    const tls = plan.bridges.find((b) => b.controller?.tls)?.controller?.tls;
    if (tls) await this.vsctl(['set-ssl', tls.key, tls.cert, tls.ca]);
    for (const b of plan.bridges) {
      const rt = this.bridge(b.name);
      if (b.listenPort !== undefined) rt.listen = await this.startListenProxy(b.name, b.listenPort);
      if (b.controller) rt.active = await this.startActiveProxy(b.name, b.controller);
      for (const c of b.moreControllers) rt.more.push(await this.startActiveProxy(b.name, c));
      await this.applyControllers(rt);
    }
  }

  private async buildHost(h: PlannedHost): Promise<void> {
    await runOk('ip', ['link', 'add', 'name', h.port, 'netns', this.ovsNetns, 'type', 'veth', 'peer', 'name', h.veth, 'netns', h.netns]);
    await runOk('ip', ['-n', h.netns, 'link', 'set', h.veth, 'address', h.mac]);
    await runOk('ip', ['-n', h.netns, 'addr', 'add', h.cidr, 'dev', h.veth]);
    await runOk('ip', ['-n', h.netns, 'link', 'set', h.veth, 'up']);
    await runOk('ip', ['-n', this.ovsNetns, 'link', 'set', h.port, 'up']);
    // The netdev datapath does not fill in checksums offloaded to the veth: without this TCP fails.
    await runOk('ip', ['netns', 'exec', h.netns, 'ethtool', '-K', h.veth, 'tx', 'off']);
  }

  private bridge(name: string): BridgeRuntime {
    const rt = this.bridges.get(name);
    if (!rt) throw new Error(`lab ${this.id} has no bridge "${name}"`);
    return rt;
  }

  private spawnInOvsNs(args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ovsNetns, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: this.ovsEnv });
    child.stderr?.resume();
    this.track(child);
    return child;
  }

  private track(child: ChildProcess): void {
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    child.on('error', () => this.children.delete(child));
  }

  /** Controller direction: OVS → 127.0.0.1:labPort (lab ns, socat) → unix socket → root forwarder → controller. */
  private async startActiveProxy(bridge: string, target: LabController): Promise<ActiveProxy> {
    const labPort = this.nextLabPort++;
    const path = join(this.runDir, `ctl-${bridge}-${labPort}.sock`);
    const fwd = await unixToTcp(path, () => ({ host: target.host, port: target.port }));
    const socat = this.spawnInOvsNs(['socat', `TCP-LISTEN:${labPort},bind=127.0.0.1,reuseaddr,fork,nodelay`, `UNIX-CONNECT:${path}`]);
    try {
      await this.waitListening(socat, labPort);
    } catch (err) {
      socat.kill('SIGKILL');
      await fwd.close();
      throw err;
    }
    return { labPort, socat, fwd, target };
  }

  /** Listen direction: root 127.0.0.1:rootPort → unix socket → socat (lab ns) → bridge's ptcp listener. */
  private async startListenProxy(bridge: string, listenPort: number): Promise<ListenProxy> {
    const path = join(this.runDir, `listen-${bridge}.sock`);
    const socat = this.spawnInOvsNs(['socat', `UNIX-LISTEN:${path},fork,unlink-early`, `TCP:127.0.0.1:${listenPort},nodelay`]);
    await this.waitFor(() => existsSync(path), `socat unix listener ${path}`, socat);
    const fwd = await tcpToUnix(path);
    return { rootPort: fwd.port, socat, fwd };
  }

  private async waitFor(ok: () => boolean, what: string, child?: ChildProcess, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (child && child.exitCode !== null) throw new Error(`${what}: process exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(10);
    }
  }

  /** Waits until the child (socat, once inside the lab namespace) listens on 127.0.0.1:port. */
  private async waitListening(child: ChildProcess, port: number): Promise<void> {
    const nsInode = statSync(join('/run/netns', this.ovsNetns)).ino;
    const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    await this.waitFor(() => {
      const pid = child.pid;
      if (pid === undefined) return false;
      try {
        if (readlinkSync(`/proc/${pid}/ns/net`) !== `net:[${nsInode}]`) return false;
        // /proc/<pid>/net/tcp lists the sockets of that process's namespace; state 0A is LISTEN.
        return readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').some((l) => {
          const f = l.trim().split(/\s+/);
          return f[1] === local && f[3] === '0A';
        });
      } catch {
        return false;
      }
    }, `socat listening on 127.0.0.1:${port} in ${this.ovsNetns}`, child);
  }

  private async applyControllers(rt: BridgeRuntime): Promise<void> {
    const name = rt.spec.name;
    const targets: string[][] = [];
    for (const a of [...(rt.active ? [rt.active] : []), ...rt.more]) {
      // Out of band: no hidden in-band flows; fast reconnects so tests restarting a controller don't wait 8 s.
      targets.push([`target="${controllerTarget(a.target, a.labPort)}"`, 'connection_mode=out-of-band', 'max_backoff=1000']);
    }
    if (rt.listen) targets.push([`target="ptcp:${rt.spec.listenPort}:127.0.0.1"`]);
    if (targets.length === 0) {
      await this.vsctl(['clear', 'Bridge', name, 'controller']);
      return;
    }
    const tx: string[] = [];
    targets.forEach((cols, i) => tx.push('--', `--id=@c${i}`, 'create', 'Controller', ...cols));
    tx.push('--', 'set', 'Bridge', name, `controller=[${targets.map((_, i) => `@c${i}`).join(',')}]`);
    await this.vsctl(tx);
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`lab ${this.id} has no host "${name}"`);
    return { netns: h.netns, ip: h.ip, prefixLen: h.prefixLen, cidr: h.cidr, mac: h.mac, ofport: h.ofport, veth: h.veth, port: h.port, bridge: h.bridge };
  }

  async exec(host: string, cmd: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.host(host).netns, ...cmd], { timeoutMs: opts.timeoutMs ?? 30_000, input: opts.input });
  }

  spawn(host: string, cmd: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.host(host).netns, ...cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.track(child);
    return child;
  }

  ofctl(args: string[]): Promise<string> {
    return runOk('ovs-ofctl', ['--timeout=10', ...args], { env: this.ovsEnv });
  }

  vsctl(args: string[]): Promise<string> {
    return runOk('ovs-vsctl', [`--db=unix:${join(this.runDir, 'db.sock')}`, '--timeout=10', ...args], { env: this.ovsEnv });
  }

  appctl(args: string[]): Promise<string> {
    return runOk('ovs-appctl', ['-t', join(this.runDir, 'ovs-vswitchd.ctl'), '--timeout=10', ...args], { env: this.ovsEnv });
  }

  async setController(bridge: string, target: LabBridgeSpec['controller']): Promise<void> {
    const rt = this.bridge(bridge);
    const old = rt.active;
    rt.active = undefined;
    if (target) {
      const tls = target.tls;
      if (tls) await this.vsctl(['del-ssl', '--', 'set-ssl', tls.key, tls.cert, tls.ca]);
      // A fresh lab-side port changes the target string, so OVS drops the old connection and connects at once.
      rt.active = await this.startActiveProxy(bridge, target);
    }
    rt.spec = { ...rt.spec, controller: target ?? null };
    await this.applyControllers(rt);
    if (old) {
      old.socat.kill('SIGTERM');
      await old.fwd.close();
    }
  }

  exposedListenPort(bridge: string): number | undefined {
    return this.bridge(bridge).listen?.rootPort;
  }

  vswitchdLog(lines = 50): string {
    try {
      return readFileSync(join(this.runDir, 'ovs-vswitchd.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  private closeForwarders(): Promise<void>[] {
    const closing: Promise<void>[] = [];
    for (const rt of this.bridges.values()) {
      if (rt.active) closing.push(rt.active.fwd.close());
      for (const a of rt.more.splice(0)) closing.push(a.fwd.close());
      if (rt.listen) closing.push(rt.listen.fwd.close());
      rt.active = undefined;
      rt.listen = undefined;
    }
    return closing;
  }

  /** Synchronous teardown for exit hooks; forwarders die with the process. */
  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    void Promise.allSettled(this.closeForwarders());
    for (const c of this.children) c.kill('SIGTERM');
    teardownSync(this.plan);
    owned.delete(this);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await Promise.allSettled(this.closeForwarders());
      } catch {
        /* never throws */
      }
      this.stopSync();
      if (owned.size === 0) uninstallHooks();
    })();
    return this.stopping;
  }
}
