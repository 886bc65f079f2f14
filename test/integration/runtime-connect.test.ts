// TLS (Open vSwitch `ssl:` controller target, certificates checked both ways against a test CA)
// and connect-out to a bridge that listens (`ptcp:`), with reconnection after the bridge restarts
// listening.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../controller/index.js';
import { startLab, type Lab } from '../../tools/lab/lab.js';
import { waiter } from '../helpers/wait-for.js';

const TLS_DP = 0x00000000000000d1n;
const OUT_DP = 0x00000000000000d2n;

let dir: string;
let ctl: Controller;
let lab: Lab;
let pki: { ca: string; caKey: string; ctlKey: string; ctlCert: string; swKey: string; swCert: string; rogueKey: string; rogueCert: string };

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/** A CA, a controller cert and a switch cert signed by it, and a self-signed rogue cert. */
function makePki(d: string): typeof pki {
  const p = (n: string) => join(d, n);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=holdfast-test-ca']);
  for (const who of ['ctl', 'sw']) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p(`${who}.key`), '-out', p(`${who}.csr`), '-subj', `/CN=holdfast-test-${who}`]);
    openssl(['x509', '-req', '-in', p(`${who}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p(`${who}.pem`), '-days', '2']);
  }
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('rogue.key'), '-out', p('rogue.pem'), '-days', '2', '-subj', '/CN=rogue']);
  return {
    ca: p('ca.pem'), caKey: p('ca.key'), ctlKey: p('ctl.key'), ctlCert: p('ctl.pem'), swKey: p('sw.key'), swCert: p('sw.pem'),
    rogueKey: p('rogue.key'), rogueCert: p('rogue.pem'),
  };
}

const waitFor = waiter(10000, 25);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'holdfast-tls-'));
  pki = makePki(dir);
  // Two listeners: plain (unused here) and TLS; the bridge that listens is connected to by us.
  ctl = new Controller({
    listeners: [{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0, tls: true }],
    tls: { key: pki.ctlKey, cert: pki.ctlCert, ca: pki.ca },
    auditIntervalMs: 0,
    reconnect: { initialMs: 50, maxMs: 400 },
  });
  await ctl.start();
  const tlsPort = ctl.addresses().find((a) => a.tls)?.port ?? 0;
  lab = await startLab({
    name: 'runtime-connect',
    bridges: [
      { name: 'brtls', datapathId: TLS_DP.toString(16).padStart(16, '0'), controller: { host: '127.0.0.1', port: tlsPort, tls: { key: pki.swKey, cert: pki.swCert, ca: pki.ca } } },
      { name: 'brout', protocols: ['OpenFlow13'], datapathId: OUT_DP.toString(16).padStart(16, '0'), controller: null, listenPort: 6634 },
    ],
    hosts: [],
  });
}, 60_000);

afterAll(async () => {
  await lab?.stop();
  await ctl?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('TLS', () => {
  it('accepts an Open vSwitch ssl: connection with a CA-signed certificate', async () => {
    const sw = await waitFor(() => ctl.switch(TLS_DP), 15000, 'TLS bridge');
    expect(sw.version).toBe(6);
    await sw.barrier();
    expect(ctl.addresses().map((a) => a.tls)).toEqual([false, true]);
  });

  it('refuses a client whose certificate is not signed by the CA', async () => {
    const port = ctl.addresses().find((a) => a.tls)?.port ?? 0;
    const outcome = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, key: readPem(pki.rogueKey), cert: readPem(pki.rogueCert), ca: readPem(pki.ca), checkServerIdentity: () => undefined });
      s.on('error', (e) => resolve(`error: ${e.message}`));
      s.on('data', () => resolve('data'));
      s.on('close', () => resolve('closed'));
    });
    expect(outcome).not.toBe('data'); // never gets our HELLO
  });
});

describe('connect out', () => {
  it('connects to a ptcp: bridge, and reconnects with backoff when it goes away and returns', async () => {
    const port = lab.exposedListenPort('brout');
    expect(port).toBeDefined();
    const ctl2 = new Controller({ listeners: [], connectTo: [{ host: '127.0.0.1', port: port ?? 0 }], reconnect: { initialMs: 50, maxMs: 400 }, auditIntervalMs: 0 });
    try {
      await ctl2.start();
      const first = await waitFor(() => ctl2.switch(OUT_DP), 10000, 'connect-out');
      expect(first.version).toBe(4);
      await first.barrier();
      // The bridge stops listening: the connection drops; it listens again: we are back.
      await lab.vsctl(['del-controller', 'brout']);
      await waitFor(() => !first.connected, 10000, 'drop');
      await lab.vsctl(['set-controller', 'brout', 'ptcp:6634']);
      const second = await waitFor(() => (ctl2.switch(OUT_DP)?.connected ? ctl2.switch(OUT_DP) : undefined), 15000, 'reconnect');
      expect(second).not.toBe(first);
      await second.barrier();
    } finally {
      await ctl2.stop();
    }
  });
});

function readPem(p: string): Buffer {
  return readFileSync(p);
}
