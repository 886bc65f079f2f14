// The `holdfast` command's program: every verb talks to the management API (except `start`, which runs it).
// Errors are one line on stderr and a non-zero exit.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import type { BackendView, ServiceView, StatusView } from '../../apps/lb/control.js';
import type { StoredEvent } from '../../apps/lb/model.js';
import type { WsServerMessage } from '../../apps/lb/web/protocol.js';
import { parseApiUrl, parseBackendRef, parseDpid, parseHostPort, parseIntArg, parseMac, parsePort } from './args.js';
import { ApiClient, backendPath, servicePath } from './client.js';
import { addDbCommands } from './db.js';
import { runApply, runExport } from './apply.js';
import { CliError, ProblemsReported } from './errors.js';
import { backendsTable, clusterText, describeGroup, describeHealth, groupSlotMoves, serviceDetail, servicesTable, statusText } from './format.js';
import type { HealthInput } from '../../apps/lb/health.js';
import type { ClusterInfo } from '../../controller/management/follower.js';
import { waitForBackend, type WaitGoal } from './wait.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const DEFAULT_API = 'http://127.0.0.1:8080';

interface GlobalOpts { api?: string; token?: string; json?: boolean }

/** The client options of the program and of the leaf command, the leaf's winning. */
function context(cmd: Command): { client: ApiClient; json: boolean } {
  const o = cmd.optsWithGlobals<GlobalOpts>();
  const api = parseApiUrl(o.api ?? process.env.HOLDFAST_API ?? DEFAULT_API);
  const token = o.token ?? (process.env.HOLDFAST_TOKEN || undefined);
  return { client: new ApiClient({ api, token }), json: o.json === true };
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/** A command's answer: the API's value as JSON under --json, else its text for a terminal. */
function answer(json: boolean, value: unknown, text: () => string): void {
  if (json) printJson(value);
  else print(text());
}

/** Adds --api/--token/--json to a command that talks to the API. */
function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--api <url>', `management API URL (env HOLDFAST_API, default ${DEFAULT_API})`)
    .option('--token <token>', 'API token (env HOLDFAST_TOKEN)')
    .option('--json', 'machine-readable JSON output');
}

const collect = (value: string, prev: string[] = []): string[] => [...prev, value];

interface HealthFlags {
  health?: string; healthInterval?: string; healthTimeout?: string; healthRise?: string; healthFall?: string;
  healthPath?: string; healthStatus?: string; slowStart?: string;
}

/** The health check options of `service add` and `service set`. */
function withHealthOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--health <type>', 'health check (default: tcp for tcp services, udp for udp)').choices(['tcp', 'udp', 'http', 'none']))
    .option('--health-interval <ms>', 'one check per backend every MS (default 2000)')
    .option('--health-timeout <ms>', 'a check without an answer after MS failed; below the interval (default 1000)')
    .option('--health-rise <n>', 'good checks in a row that bring a down backend back (default 2)')
    .option('--health-fall <n>', 'failed checks in a row that take a backend down (default 3)')
    .option('--health-path <path>', 'http checks: the path to GET (default /)')
    .option('--health-status <range>', 'http checks: the status codes that mean up (default 200-399)')
    .option('--slow-start <ms>', 'a backend that comes back grows to its full share over MS (default 30000; 0: off)');
}

/** Health options as the API takes them (values checked by the controller, which says what is wrong). */
function healthBody(o: HealthFlags): HealthInput | undefined {
  const n = (v: string | undefined, what: string): number | undefined => (v === undefined ? undefined : parseIntArg(v, what, 0, 3_600_000));
  const h: HealthInput = {
    ...(o.health !== undefined && { type: o.health }),
    ...(o.healthInterval !== undefined && { intervalMs: n(o.healthInterval, 'health interval') }),
    ...(o.healthTimeout !== undefined && { timeoutMs: n(o.healthTimeout, 'health timeout') }),
    ...(o.healthRise !== undefined && { rise: n(o.healthRise, 'health rise') }),
    ...(o.healthFall !== undefined && { fall: n(o.healthFall, 'health fall') }),
    ...(o.slowStart !== undefined && { slowStartMs: n(o.slowStart, 'slow start') }),
    ...((o.healthPath !== undefined || o.healthStatus !== undefined) && {
      http: { ...(o.healthPath !== undefined && { path: o.healthPath }), ...(o.healthStatus !== undefined && { status: o.healthStatus }) },
    }),
  };
  return Object.keys(h).length === 0 ? undefined : h;
}

function checkIp(text: string, what: string): string {
  if (!isIPv4(text)) throw new CliError(`bad ${what} "${text}": expected an IPv4 address`);
  return text;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('holdfast')
    .description('Connection-preserving L4 load balancer on OpenFlow switches')
    .version(pkg.version)
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError(true);
  withClientOptions(program);

  // ---- start
  program
    .command('start')
    .description('run the controller: OpenFlow listener, load balancer, management API and live view')
    .option('--openflow <host:port>', 'where switches connect', '0.0.0.0:6653')
    .option('--api <host:port>', 'where the management API and live view listen', '127.0.0.1:8080')
    .option('--db <file>', 'SQLite state file', './holdfast.db')
    .option('--token <token>', 'require this API token (needed when --api is not loopback; env HOLDFAST_TOKEN)')
    .option('--tls-cert <file>', 'OpenFlow TLS certificate (PEM)')
    .option('--tls-key <file>', 'OpenFlow TLS private key (PEM)')
    .option('--tls-ca <file>', 'CA certificate that signs the switches\' certificates (PEM)')
    .option('--api-tls-cert <file>', 'serve the management API and live view over HTTPS with this certificate (PEM)')
    .option('--api-tls-key <file>', 'the HTTPS certificate\'s private key (PEM)')
    .option('--init-db', 'make an existing but empty --db file (0 bytes) a new, empty database')
    .option('--allow-dpid <dpid,...>', 'admit only these switches (datapath ids; repeatable)', collect)
    .option('--takeover-probe <ms>', 'a connected switch has this long to answer an echo before a newcomer with its dpid replaces it (0: newest wins)', '3000')
    .option('--monitor-ip <ip>', 'health probes come from this IP (an unused address in the backends\' subnet); without it tcp/udp checks fall back to ARP')
    .option('--monitor-mac <mac>', 'health probes come from this MAC (default 02:48:46:ff:ff:fe)')
    .option('--etcd <url,...>', 'keep the state in etcd and run as one of several controllers (leader election; --db is not used)')
    .option('--etcd-prefix <prefix>', 'the cluster\'s keys in etcd', '/holdfast/')
    .option('--lease-ttl <s>', 'leader lease in seconds: a dead leader is replaced within about this long', '2')
    .addOption(new Option('--log <level>', 'log level (env HOLDFAST_LOG)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .action(async (o: { openflow: string; api: string; db: string; token?: string; tlsCert?: string; tlsKey?: string; tlsCa?: string; apiTlsCert?: string; apiTlsKey?: string; log?: string; initDb?: boolean; allowDpid?: string[]; takeoverProbe: string; monitorIp?: string; monitorMac?: string; etcd?: string; etcdPrefix: string; leaseTtl: string }) => {
      if (o.monitorMac !== undefined && o.monitorIp === undefined) throw new CliError('--monitor-mac needs --monitor-ip');
      const tlsGiven = [o.tlsCert, o.tlsKey, o.tlsCa].filter((x) => x !== undefined).length;
      if (tlsGiven !== 0 && tlsGiven !== 3) throw new CliError('TLS needs all of --tls-cert, --tls-key and --tls-ca');
      if ((o.apiTlsCert === undefined) !== (o.apiTlsKey === undefined)) throw new CliError('HTTPS for the API needs both --api-tls-cert and --api-tls-key');
      const { runStart } = await import('./start.js');
      await runStart({
        openflow: parseHostPort(o.openflow, '--openflow address'),
        api: parseHostPort(o.api, '--api address', '127.0.0.1'),
        db: o.db,
        token: o.token ?? (process.env.HOLDFAST_TOKEN || undefined),
        tls: tlsGiven === 3 ? { cert: o.tlsCert!, key: o.tlsKey!, ca: o.tlsCa! } : undefined,
        ...(o.apiTlsCert !== undefined ? { apiTls: { cert: o.apiTlsCert, key: o.apiTlsKey! } } : {}),
        logLevel: o.log,
        initDb: o.initDb === true,
        admission: {
          ...(o.allowDpid && { allowDpids: o.allowDpid.flatMap((l) => l.split(',')).map((d) => BigInt(`0x${parseDpid(d)}`)) }),
          takeoverProbeMs: parseIntArg(o.takeoverProbe, 'takeover probe', 0, 600_000),
        },
        ...(o.etcd !== undefined && {
          etcd: {
            endpoints: o.etcd.split(',').map((u) => u.trim()).filter((u) => u !== ''),
            prefix: o.etcdPrefix,
            leaseTtlSeconds: parseIntArg(o.leaseTtl, 'lease TTL', 1, 3600),
          },
        }),
        ...(o.monitorIp !== undefined && {
          monitor: { ip: checkIp(o.monitorIp, 'monitor IP'), ...(o.monitorMac !== undefined && { mac: parseMac(o.monitorMac) }) },
        }),
      });
    });

  // ---- service
  const service = program.command('service').description('add, list, show and remove services');

  withHealthOptions(withClientOptions(service.command('add <name>')))
    .description('add a virtual service')
    .requiredOption('--vip <ip>', 'virtual IP address')
    .requiredOption('--port <n>', 'service port')
    .addOption(new Option('--proto <proto>', 'protocol').choices(['tcp', 'udp']))
    .addOption(new Option('--mode <mode>', 'forwarding mode').choices(['nat', 'dsr']))
    .option('--slots <n>', 'number of slots (hash buckets), fixed for the life of the service')
    .option('--switch <dpid>', 'install on this switch (repeatable; default: all switches)', collect)
    .addOption(new Option('--tracking <what>', 'which flows get pins').choices(['migrations', 'all']))
    .action(async (name: string, o: HealthFlags & { vip: string; port: string; proto?: 'tcp' | 'udp'; mode?: 'nat' | 'dsr'; slots?: string; switch?: string[]; tracking?: 'migrations' | 'all' }, cmd: Command) => {
      const { client, json } = context(cmd);
      const health = healthBody(o);
      const body = {
        name,
        vip: checkIp(o.vip, 'VIP'),
        port: parsePort(o.port, 'port'),
        ...(o.proto && { proto: o.proto }),
        ...(o.mode && { mode: o.mode }),
        ...(o.slots !== undefined && { slots: parseIntArg(o.slots, 'slot count', 1, 1_000_000) }),
        ...(o.switch && { switches: o.switch.map(parseDpid) }),
        ...(o.tracking && { tracking: o.tracking }),
        ...(health && { health }),
      };
      const s = await client.post<ServiceView>('/services', body);
      answer(json, s, () => `service ${s.name} added: ${s.vip}:${s.port}/${s.proto}, ${s.mode}, ${s.slots} slots, on ${s.switches.length ? s.switches.join(', ') : 'all switches'}`);
    });

  withHealthOptions(withClientOptions(service.command('set <name>')))
    .description('change a service\'s health check settings (only those given)')
    .action(async (name: string, o: HealthFlags, cmd: Command) => {
      const { client, json } = context(cmd);
      const health = healthBody(o);
      if (!health) throw new CliError('nothing to change: give --health, --health-interval, --health-timeout, --health-rise, --health-fall, --health-path, --health-status or --slow-start');
      const s = await client.patch<ServiceView>(servicePath(name), { health });
      answer(json, s, () => `service ${s.name}: health check ${describeHealth(s.health)}`);
    });

  withClientOptions(service.command('list'))
    .description('list services')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, json } = context(cmd);
      const list = await client.get<ServiceView[]>('/services');
      answer(json, list, () => servicesTable(list));
    });

  withClientOptions(service.command('show <name>'))
    .description('show a service, its slots and its backends')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { client, json } = context(cmd);
      const s = await client.get<ServiceView>(servicePath(name));
      answer(json, s, () => serviceDetail(s));
    });

  withClientOptions(service.command('remove <name>'))
    .description('remove a service, its flows, group and pins from every switch')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { client, json } = context(cmd);
      const r = await client.delete<{ removed: string }>(servicePath(name));
      answer(json, r, () => `service ${name} removed`);
    });

  // ---- backend
  const backend = program.command('backend').description('add, drain, enable, reweight, remove and list backends');

  withClientOptions(backend.command('add <service> <backend>'))
    .description('add a backend IP[:PORT] (nat: PORT defaults to the service port; dsr: no port)')
    .option('--weight <n>', 'share of slots (0 = no new flows)', '1')
    .option('--mac <mac>', 'the backend\'s MAC (skips ARP resolution; with --switch-port)')
    .option('--switch-port <n>', 'the switch port the backend is on (with --mac)')
    .action(async (svc: string, ref: string, o: { weight: string; mac?: string; switchPort?: string }, cmd: Command) => {
      const { client, json } = context(cmd);
      const b = parseBackendRef(ref);
      if ((o.mac === undefined) !== (o.switchPort === undefined)) throw new CliError('--mac and --switch-port go together');
      const body = {
        ip: b.ip,
        ...(b.port !== undefined && { port: b.port }),
        weight: parseIntArg(o.weight, 'weight', 0, 1_000_000),
        ...(o.mac !== undefined && { mac: parseMac(o.mac) }),
        ...(o.switchPort !== undefined && { switchPort: parseIntArg(o.switchPort, 'switch port', 1, 0xffffff00) }),
      };
      const v = await client.post<BackendView>(`${servicePath(svc)}/backends`, body);
      answer(json, v, () => `backend ${v.key} added to ${svc}: weight ${v.weight}, ${v.state}`);
    });

  const waitable = (verb: 'drain' | 'remove', goal: WaitGoal) => async (svc: string, ref: string, o: { wait?: boolean; now?: boolean; timeout?: string }, cmd: Command) => {
    const { client, json } = context(cmd);
    const { key } = parseBackendRef(ref);
    const timeoutMs = o.timeout === undefined ? undefined : parseIntArg(o.timeout, 'timeout', 1, 86_400 * 7) * 1000;
    let initialSlots: number | undefined;
    if (o.wait) initialSlots = (await client.get<BackendView>(backendPath(svc, key))).slots;
    const v = verb === 'drain'
      ? await client.post<BackendView>(`${backendPath(svc, key)}/drain`)
      : await client.delete<BackendView>(`${backendPath(svc, key)}${o.now ? '?now=1' : ''}`);
    if (!o.wait) {
      answer(json, v, () => (verb === 'drain' ? `backend ${key} of ${svc}: ${v.state} (${Math.max(v.connections, v.pins)} connections left)`
        : v.state === 'removed' ? `backend ${key} removed from ${svc}` : `backend ${key} of ${svc}: ${v.state}, removed when its last connection is gone`));
      return;
    }
    const done = await waitForBackend({ client, service: svc, key, goal, out: json ? process.stderr : process.stdout, initialSlots, timeoutMs });
    answer(json, done.backend ?? { ...v, state: 'removed' }, () => `backend ${key} of ${svc}: ${goal === 'removed' ? 'removed' : done.progress.state} (${done.progress.slotsMoved} slots moved)`);
  };

  withClientOptions(backend.command('drain <service> <backend>'))
    .description('stop new flows to a backend and keep it until its last connection is gone')
    .option('--wait', 'wait until it is drained, showing progress')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long')
    .action(waitable('drain', 'drained'));

  withClientOptions(backend.command('enable <service> <backend>'))
    .description('make a drained, draining or down backend active again')
    .action(async (svc: string, ref: string, _o: unknown, cmd: Command) => {
      const { client, json } = context(cmd);
      const { key } = parseBackendRef(ref);
      const v = await client.post<BackendView>(`${backendPath(svc, key)}/enable`);
      answer(json, v, () => `backend ${key} of ${svc}: ${v.state}`);
    });

  withClientOptions(backend.command('weight <service> <backend> <weight>'))
    .description('change a backend\'s weight (its share of slots)')
    .action(async (svc: string, ref: string, w: string, _o: unknown, cmd: Command) => {
      const { client, json } = context(cmd);
      const { key } = parseBackendRef(ref);
      const v = await client.put<BackendView>(`${backendPath(svc, key)}/weight`, { weight: parseIntArg(w, 'weight', 0, 1_000_000) });
      answer(json, v, () => `backend ${key} of ${svc}: weight ${v.weight}`);
    });

  withClientOptions(backend.command('remove <service> <backend>'))
    .description('remove a backend: drain it, then delete it (--now: at once, dropping its pins)')
    .option('--now', 'move its slots at once and delete its pins (its connections break)')
    .option('--wait', 'wait until it is gone, showing progress')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long')
    .action(waitable('remove', 'removed'));

  withClientOptions(backend.command('list <service>'))
    .description('list a service\'s backends')
    .action(async (svc: string, _o: unknown, cmd: Command) => {
      const { client, json } = context(cmd);
      const list = await client.get<BackendView[]>(`${servicePath(svc)}/backends`);
      answer(json, list, () => backendsTable(list));
    });

  // ---- switches
  const sw = program.command('switch').description('how the controller drives each switch');
  withClientOptions(sw.command('profile <dpid> <profile>'))
    .description('force a switch\'s profile: ovs (the switch remembers connections; Open vSwitch), openflow13 (standard OpenFlow 1.3 only), or auto (detected)')
    .action(async (dpid: string, profile: string, _o: unknown, cmd: Command) => {
      const { client, json } = context(cmd);
      if (!['ovs', 'openflow13', 'auto'].includes(profile)) throw new CliError(`bad profile "${profile}": expected ovs, openflow13 or auto`);
      const v = await client.put<{ dpid: string; profile: string }>(`/switches/${encodeURIComponent(dpid)}/profile`, { profile });
      answer(json, v, () => `switch ${v.dpid}: profile ${v.profile}`);
    });

  // ---- status, events, watch
  withClientOptions(program.command('status'))
    .description('switches, services and counters (and the cluster, with several controllers)')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, json } = context(cmd);
      const st = await client.get<StatusView>('/status');
      // A controller that runs alone answers 404 here.
      const cluster = await client.get<ClusterInfo>('/cluster').catch(() => undefined);
      answer(json, cluster ? { ...st, cluster } : st, () => cluster ? `${statusText(st)}\n\n${clusterText(cluster)}` : statusText(st));
    });

  withClientOptions(program.command('events'))
    .description('print the event log')
    .option('--after <id>', 'only events after this id', '0')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (o: { after: string; limit: string }, cmd: Command) => {
      const { client, json } = context(cmd);
      const after = parseIntArg(o.after, 'event id', 0, Number.MAX_SAFE_INTEGER);
      const limit = parseIntArg(o.limit, 'limit', 1, 1000);
      const list = await client.get<StoredEvent[]>(`/events?after=${after}&limit=${limit}`);
      answer(json, list, () => list.length ? groupSlotMoves(list).map(describeGroup).join('\n') : 'no events');
    });

  withClientOptions(program.command('watch'))
    .description('stream events as they happen (Ctrl-C to stop)')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, json } = context(cmd);
      await watch(client, json);
    });

  // ---- declarative configuration
  withClientOptions(program.command('apply'))
    .description('make the live state equal to a file (YAML or JSON) with the fewest changes')
    .requiredOption('-f, --file <file>', 'the configuration file (- for stdin)')
    .option('--dry-run', 'print the plan and change nothing')
    .action(async (o: { file: string; dryRun?: boolean }, cmd: Command) => {
      const { client, json } = context(cmd);
      await runApply(client, { file: o.file, dryRun: o.dryRun === true, json, out: print, err: (t) => process.stderr.write(`${t}\n`) });
    });
  withClientOptions(program.command('export'))
    .description('print the live state as a file for apply')
    .action(async (_o: unknown, cmd: Command) => {
      const { client } = context(cmd);
      await runExport(client, print);
    });

  addDbCommands(program);
  return program;
}

/** Streams events until SIGINT; reconnects (replaying missed events) if the controller restarts.
 * Human output joins the slot moves of one migration into one line (held back 100 ms for that). */
async function watch(client: ApiClient, json: boolean): Promise<void> {
  let lastId: number | undefined;
  let stopping = false;
  let pending: StoredEvent[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    for (const g of groupSlotMoves(pending)) print(describeGroup(g));
    pending = [];
  };
  const show = (e: StoredEvent): void => {
    if (lastId !== undefined && e.id <= lastId) return;
    lastId = e.id;
    if (json) {
      print(JSON.stringify(e));
      return;
    }
    pending.push(e);
    if (e.event.type !== 'slot_moved') flush();
    else flushTimer ??= setTimeout(flush, 100);
  };
  const onMessage = (m: WsServerMessage): void => {
    if (m.type === 'snapshot') {
      // First connect: the last few events for context; reconnect: everything we missed.
      const replay = lastId === undefined ? lastGroups(m.recentEvents, 10) : m.recentEvents;
      for (const e of replay) show(e);
      flush();
      lastId ??= m.lastEventId;
    } else if (m.type === 'event') show(m.event);
  };
  let ws = await client.openFeed(onMessage);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => {
      stopping = true;
      flush();
      ws.close();
      resolve();
    });
    const attach = (): void => {
      ws.on('close', () => {
        if (stopping) return;
        flush();
        process.stderr.write('holdfast: lost the connection to the API, reconnecting…\n');
        void reconnect();
      });
      ws.on('error', () => {});
    };
    const reconnect = async (): Promise<void> => {
      for (let delay = 500; !stopping; delay = Math.min(delay * 2, 5000)) {
        await new Promise((r) => setTimeout(r, delay));
        try {
          ws = await client.openFeed(onMessage);
          attach();
          return;
        } catch { /* keep trying */ }
      }
    };
    attach();
  });
}

/** The events making up the last `n` printed lines. */
function lastGroups(events: StoredEvent[], n: number): StoredEvent[] {
  const groups = groupSlotMoves(events).slice(-n);
  const firstId = groups[0] ? ('slots' in groups[0] ? groups[0].first.id : groups[0].id) : Infinity;
  return events.filter((e) => e.id >= firstId);
}

function oneLine(s: string): string {
  return s.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, '; ').trim();
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version were printed; usage errors become our one line.
      if (err.exitCode === 0 || err.code === 'commander.help' || err.code === 'commander.helpDisplayed') return err.exitCode;
      process.stderr.write(`holdfast: ${oneLine(err.message)}\n`);
      return err.exitCode || 2;
    }
    if (!(err instanceof ProblemsReported)) process.stderr.write(`holdfast: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
