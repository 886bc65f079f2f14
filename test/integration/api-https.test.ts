// The management API and live view over HTTPS (`--api-tls-cert/--api-tls-key`), for use beyond
// loopback: the real `holdfast start` process, the CLI over https (trusting the certificate through
// NODE_EXTRA_CA_CERTS), plain HTTP refused, and bad files refused at start with one clear line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, runCli, startHoldfastProcess, type HoldfastProcess } from '../helpers/holdfast-process.js';

const dir = mkdtempSync(join(tmpdir(), 'hf-https-'));
const cert = join(dir, 'api.pem');
const key = join(dir, 'api.key');
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
  '-subj', '/CN=holdfast-api', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });

describe('management API over HTTPS', () => {
  let hf: HoldfastProcess | undefined;
  afterAll(async () => {
    await hf?.stop();
    removeDir(dir);
  });

  it('serves the API and the live view over https, and the CLI talks to it', async () => {
    hf = await startHoldfastProcess({ dir, extraArgs: ['--api-tls-cert', cert, '--api-tls-key', key] });
    expect(hf.api).toMatch(/^https:\/\//);
    const trust = { NODE_EXTRA_CA_CERTS: cert };
    const add = await hf.cli(['service', 'add', 'web', '--vip', '10.0.0.100', '--port', '80'], trust);
    expect(add.code, add.stderr).toBe(0);
    const st = await hf.cli(['status', '--json'], trust);
    expect(st.code, st.stderr).toBe(0);
    expect((JSON.parse(st.stdout) as { services: { name: string }[] }).services.map((s) => s.name)).toEqual(['web']);
    // Without trusting the certificate the CLI refuses the connection, in one line.
    const untrusted = await hf.cli(['status']);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr.trim().split('\n')).toHaveLength(1);
    // Plain HTTP on the HTTPS port gets nothing useful.
    const plain = await runCli(['status'], { HOLDFAST_API: hf.api.replace('https:', 'http:') });
    expect(plain.code).not.toBe(0);
  }, 60_000);

  it('refuses a garbage key at start, naming the file', async () => {
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, 'not a key\n');
    await expect(startHoldfastProcess({ dir: mkdtempSync(join(tmpdir(), 'hf-https-bad-')), extraArgs: ['--api-tls-cert', cert, '--api-tls-key', bad] }))
      .rejects.toThrow(/bad\.key/);
  }, 30_000);
});
