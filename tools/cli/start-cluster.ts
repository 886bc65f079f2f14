// `holdfast start --etcd URL[,URL]`: one member of a cluster of controllers. Every member listens
// for switches at once (switches point at all of them) and holds its connections as a slave, so
// a failover needs no reconnection. Only the elected leader loads the state from etcd, runs the
// load balancer and L2 forwarding, and serves the management API; the others wait.
import { L2Forwarding } from '../../apps/l2/forwarding.js';
import { LoadBalancer } from '../../apps/lb/app.js';
import { ClusterMember, clusterEtcdClient } from '../../controller/cluster.js';
import { Controller } from '../../controller/index.js';
import { startLbManagementServer } from '../../apps/lb/web/server.js';
import { startFollowerServer, type FollowerServer } from '../../controller/management/follower.js';
import { EtcdStore } from '../../db/etcd-store.js';
import { CliError } from './errors.js';
import { checkApiBind, loadStartTls, urlHost, type EtcdOptions, type LogLevel, type StartOptions } from './start-options.js';

export type { EtcdOptions } from './start-options.js';

export interface ClusterRunning {
  controller: Controller;
  member: ClusterMember;
  stop(): Promise<void>;
}

/** Exits the process: a controller whose leadership cannot be trusted must not act on switches. */
function fatal(out: NodeJS.WritableStream, why: string): never {
  out.write(`holdfast: ${why}; exiting (a restarted controller rejoins as a follower)\n`);
  process.exit(3);
}

export async function startClusterMember(o: StartOptions & { etcd: EtcdOptions }): Promise<ClusterRunning> {
  checkApiBind(o);
  const { tls, apiPems } = loadStartTls(o);
  const out = o.out ?? process.stdout;
  const prefix = o.etcd.prefix.endsWith('/') ? o.etcd.prefix : `${o.etcd.prefix}/`;
  const client = clusterEtcdClient(o.etcd.endpoints);
  try {
    await client.get(`${prefix}generation`).options({ deadline: Date.now() + 5_000 }).string();
  } catch (err) {
    client.close();
    throw new CliError(`cannot reach etcd at ${o.etcd.endpoints.join(',')}: ${(err as Error).message}`);
  }

  const cleanups: (() => Promise<void> | void)[] = [() => client.close()];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch { /* keep closing the rest */ }
    }
  };

  const controller = new Controller({
    listeners: [{ host: o.openflow.host, port: o.openflow.port, tls: tls !== undefined }], tls, logLevel: o.logLevel as LogLevel | undefined,
    ...o.admission,
    ...(o.tuning?.auditIntervalMs !== undefined ? { auditIntervalMs: o.tuning.auditIntervalMs } : {}),
  });
  try {
    await controller.start();
  } catch (err) {
    await stop();
    const e = err as NodeJS.ErrnoException;
    throw new CliError(`cannot listen for OpenFlow on ${o.openflow.host}:${o.openflow.port}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`);
  }
  cleanups.push(() => controller.stop());
  const of = controller.addresses()[0] ?? { host: o.openflow.host, port: o.openflow.port, tls: false };
  const apiUrl = `${apiPems ? 'https' : 'http'}://${urlHost(o.api.host)}:${o.api.port}`;
  const log = controller.log.child({ component: 'cluster' });

  let follower: FollowerServer | undefined;
  const clusterInfo = async () => ({ ...(await member.view()), switches: controller.switchRoles() });
  const member = new ClusterMember({
    client, prefix, ttlSeconds: o.etcd.leaseTtlSeconds, log,
    member: { name: `${urlHost(of.host)}:${of.port}`, api: apiUrl, openflow: `${urlHost(of.host)}:${of.port}` },
    following: async (generationId, leader) => {
      await controller.setRole('slave', generationId);
      out.write(`cluster: following (leader ${leader?.name ?? 'none yet'}, generation ${generationId})\n`);
    },
    lost: (err) => fatal(out, `lost the cluster lease (${err.message})`),
    elected: async (generationId, fence) => {
      const electedAt = Date.now();
      // Switches first: from here on they take flow-mods from us only, and refuse the old leader.
      await controller.setRole('master', generationId);
      const masterAt = Date.now();
      const firstChange = watchFirstChange(controller, (at) => out.write(`cluster: first flow-mod or group-mod as leader at ${at}\n`));
      cleanups.push(firstChange);
      const store = await EtcdStore.open(client, {
        prefix: `${prefix}state/`, fence,
        onFenced: (why) => fatal(out, `a write to etcd was refused: ${why}`),
        onWriteError: (err) => log.warn({ err: err.message }, 'etcd write failed; retrying until etcd takes it (changes through the API are refused meanwhile)'),
        onWriteResumed: (afterMs) => log.info({ afterMs }, 'etcd takes our writes again'),
      });
      cleanups.push(() => store.close());
      controller.use(new L2Forwarding(controller.reconciler));
      const lb = new LoadBalancer({
        ...(o.monitor ? { monitor: o.monitor } : {}), ...o.tuning?.lb, controller, store, log: controller.log.child({ component: 'lb' }),
      });
      lb.start();
      cleanups.push(() => lb.stop());
      cleanups.push(() => lb.park());
      // The follower's forwarding API gives its address to the leader's.
      await follower?.close();
      follower = undefined;
      const mgmt = await startLbManagementServer({
        host: o.api.host, port: o.api.port, token: o.token, control: lb, switches: controller, cluster: clusterInfo,
        durable: () => store.flush(), refuseWrite: () => store.refuseWrite(),
        ...(apiPems ? { tls: apiPems } : {}), log: controller.log.child({ component: 'management' }),
      });
      cleanups.push(() => mgmt.close());
      out.write(`cluster: leader, generation ${generationId}, elected at ${electedAt}, state loaded at ${Date.now()}, master role at ${masterAt}\n`);
      out.write(`api listening on ${apiPems ? 'https' : 'http'}://${urlHost(mgmt.address.host)}:${mgmt.address.port}\n`);
    },
  });
  out.write(`openflow listening on ${urlHost(of.host)}:${of.port}${of.tls ? ' (TLS)' : ''}\n`);
  out.write(`state in etcd ${o.etcd.endpoints.join(',')} under ${prefix}\n`);
  // Until elected, the API forwards to the leader (reads and writes), so any member will do.
  try {
    follower = await startFollowerServer({
      host: o.api.host, port: o.api.port, ...(o.token ? { token: o.token } : {}), ...(apiPems ? { tls: apiPems } : {}),
      cluster: clusterInfo, log: controller.log.child({ component: 'follower-api' }),
    });
  } catch (err) {
    await stop();
    throw new CliError(`cannot listen for the API on ${o.api.host}:${o.api.port}: ${(err as Error).message}`);
  }
  cleanups.push(() => follower?.close());
  out.write(`follower api listening on ${apiPems ? 'https' : 'http'}://${urlHost(follower.address.host)}:${follower.address.port}\n`);
  await member.start();
  // Leaving first: a member that resigns hands leadership over at once instead of at lease expiry.
  cleanups.splice(1, 0, () => member.stop());
  return { controller, member, stop };
}

/**
 * Reports when this leader first changes a switch (a flow-mod or group-mod on any connection): the
 * end of a failover as a switch sees it (docs/benchmarks.md). Counters are polled every 2 ms for at
 * most a minute; a switch that connects later counts from zero. Returns the stop function.
 */
function watchFirstChange(controller: Controller, report: (at: number) => void): () => void {
  const mods = (dpid: bigint): number => {
    const s = controller.connectionStats(dpid);
    return s ? s.flowMods + s.groupMods : 0;
  };
  const base = new Map(controller.switches().map((c) => [c.dpid, mods(c.dpid)]));
  const until = Date.now() + 60_000;
  const timer = setInterval(() => {
    if (controller.switches().some((c) => mods(c.dpid) > (base.get(c.dpid) ?? 0))) {
      clearInterval(timer);
      report(Date.now());
    } else if (Date.now() > until) clearInterval(timer);
  }, 2);
  return () => clearInterval(timer);
}
