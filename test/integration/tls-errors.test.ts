// TLS set-up and failures, through real sockets and real files: bad --tls-* files are refused at
// start with one line naming the file; a failed switch handshake is logged with the remote
// address and the reason, not "socket hang up" from "undefined:undefined".
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, createLogger } from '../../controller/index.js';
import { checkTlsMaterial, TlsConfigError } from '../../controller/tls-check.js';
import { ensureBuilt, runCli } from '../helpers/holdfast-process.js';
import { makePki, type TestPki } from '../helpers/pki.js';

let dir: string;
let pki: TestPki;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'holdfast-tlserr-'));
  pki = makePki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const read = (f: string): Buffer => readFileSync(f);
function refusal(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TlsConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a TlsConfigError');
}

describe('checking TLS files', () => {
  it('accepts a good key, certificate and CA', () => {
    checkTlsMaterial({ key: read(pki.ctlKey), cert: read(pki.ctlCert), ca: read(pki.ca) }, { key: pki.ctlKey, cert: pki.ctlCert, ca: pki.ca });
  });

  it('refuses a garbage or empty CA, a key of another certificate, a garbage key, an expired certificate', () => {
    const names = { key: 'k.pem', cert: 'c.pem', ca: 'ca.pem' };
    const good = { key: read(pki.ctlKey), cert: read(pki.ctlCert), ca: read(pki.ca) };
    expect(refusal(() => checkTlsMaterial({ ...good, ca: Buffer.from('garbage, not a certificate\n') }, names)))
      .toBe('the TLS CA certificate ca.pem holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)');
    expect(refusal(() => checkTlsMaterial({ ...good, ca: Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n') }, names)))
      .toMatch(/^the TLS CA certificate ca\.pem is not a valid certificate: /);
    expect(refusal(() => checkTlsMaterial({ ...good, key: read(pki.rogueKey) }, names))).toBe('the TLS key k.pem does not belong to the certificate c.pem');
    expect(refusal(() => checkTlsMaterial({ ...good, key: Buffer.from('nope') }, names))).toMatch(/^the TLS key k\.pem is not a PEM private key/);
    expect(refusal(() => checkTlsMaterial({ ...good, cert: Buffer.from('') }, names))).toMatch(/^the TLS certificate c\.pem holds no PEM certificate/);
    const later = new Date(Date.now() + 30 * 86_400_000);
    expect(refusal(() => checkTlsMaterial(good, names, later))).toMatch(/^the TLS certificate c\.pem expired on /);
  });

  it('holdfast start refuses a garbage --tls-ca with one line naming the file', async () => {
    ensureBuilt();
    const garbage = join(dir, 'garbage-ca.pem');
    writeFileSync(garbage, 'this is not a CA\n');
    const r = await runCli(['start', '--db', join(dir, 'h.db'), '--api', '127.0.0.1:0', '--openflow', '127.0.0.1:0',
      '--tls-cert', pki.ctlCert, '--tls-key', pki.ctlKey, '--tls-ca', garbage], {}, 15_000);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([`holdfast: the TLS CA certificate ${garbage} holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)`]);
    const mismatched = await runCli(['start', '--db', join(dir, 'h.db'), '--api', '127.0.0.1:0', '--openflow', '127.0.0.1:0',
      '--tls-cert', pki.ctlCert, '--tls-key', pki.swKey, '--tls-ca', pki.ca], {}, 15_000);
    expect(mismatched.code).not.toBe(0);
    expect(mismatched.stderr).toBe(`holdfast: the TLS key ${pki.swKey} does not belong to the certificate ${pki.ctlCert}\n`);
  });
});

describe('failed TLS handshakes are logged with the address and the reason', () => {
  it('a plain-TCP peer, a peer with a rogue certificate, one with no certificate, one that hangs up', async () => {
    const lines: { msg: string; remote?: string; suppressed?: number }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as (typeof lines)[number]);
        done();
      },
    });
    const ctl = new Controller({
      listeners: [{ host: '127.0.0.1', port: 0, tls: true }], tls: { key: pki.ctlKey, cert: pki.ctlCert, ca: pki.ca }, auditIntervalMs: 0,
      logger: createLogger({ level: 'warn', destination: sink }),
    });
    await ctl.start();
    const port = ctl.addresses()[0]!.port;
    const ports: number[] = [];
    const ended = (s: net.Socket): Promise<void> => new Promise((r) => { s.on('error', () => r()); s.on('close', () => r()); });
    try {
      const plain = net.connect(port, '127.0.0.1', () => { ports.push(plain.localPort!); plain.write('GET / HTTP/1.0\r\n\r\n'); });
      await ended(plain);
      const rogue = tls.connect({ host: '127.0.0.1', port, key: read(pki.rogueKey), cert: read(pki.rogueCert), ca: read(pki.ca), checkServerIdentity: () => undefined });
      rogue.on('connect', () => ports.push(rogue.localPort!));
      await ended(rogue);
      const noCert = tls.connect({ host: '127.0.0.1', port, ca: read(pki.ca), checkServerIdentity: () => undefined });
      noCert.on('connect', () => ports.push(noCert.localPort!));
      await ended(noCert);
      const hangup = net.connect(port, '127.0.0.1', () => { ports.push(hangup.localPort!); hangup.destroy(); });
      await ended(hangup);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await ctl.stop();
    }
    await new Promise((r) => setTimeout(r, 50));
    const tlsLines = lines.filter((l) => l.msg.startsWith('TLS handshake with switch failed'));
    expect(tlsLines.map((l) => l.remote)).toEqual(ports.map((p) => `127.0.0.1:${p}`));
    expect(tlsLines.map((l) => l.msg.replace('TLS handshake with switch failed: ', ''))).toEqual([
      'it sent an HTTP request, not TLS',
      'the switch\'s certificate was refused: its certificate is self-signed, not signed by the CA (--tls-ca)',
      'it sent no certificate (one signed by --tls-ca is required)',
      expect.stringMatching(/^the peer closed the connection during the TLS handshake/),
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/undefined|socket hang up/);
  });
});
