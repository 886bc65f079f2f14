// A throwaway PKI for TLS tests (openssl): a CA, a controller and a switch certificate signed by
// it, and a self-signed rogue certificate.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface TestPki {
  ca: string; caKey: string; ctlKey: string; ctlCert: string; swKey: string; swCert: string; rogueKey: string; rogueCert: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

export function makePki(dir: string): TestPki {
  const p = (n: string): string => join(dir, n);
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
