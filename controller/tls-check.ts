// TLS for OpenFlow: checking the key, certificate and CA before listening, and saying why a
// switch's TLS handshake failed. Node accepts a garbage CA file without a word and then refuses
// every switch; and a failed handshake surfaces as "socket hang up" from "undefined:undefined".
// Both leave an operator guessing; these turn them into sentences.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import tls from 'node:tls';

export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  ca?: Buffer;
}

/** Where each piece came from, for messages (a file name, or a word when given inline). */
export interface TlsNames {
  key: string;
  cert: string;
  ca?: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certificates(pem: Buffer, what: string): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new TlsConfigError(`${what} holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      const which = blocks.length > 1 ? ` (certificate ${i + 1} of ${blocks.length})` : '';
      throw new TlsConfigError(`${what}${which} is not a valid certificate: ${(err as Error).message}`);
    }
  });
}

/**
 * Throws TlsConfigError naming the file when the key, certificate or CA cannot work: not PEM,
 * not parseable, expired or not yet valid, or a key that does not belong to the certificate.
 */
export function checkTlsMaterial(m: TlsMaterial, names: TlsNames, now: Date = new Date()): void {
  const certWhat = `the TLS certificate ${names.cert}`;
  const [own] = certificates(m.cert, certWhat);
  if (new Date(own!.validTo) < now) throw new TlsConfigError(`${certWhat} expired on ${own!.validTo}`);
  if (new Date(own!.validFrom) > now) throw new TlsConfigError(`${certWhat} is not valid before ${own!.validFrom}`);
  let key;
  try {
    key = createPrivateKey(m.key);
  } catch (err) {
    throw new TlsConfigError(`the TLS key ${names.key} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!own!.checkPrivateKey(key)) throw new TlsConfigError(`the TLS key ${names.key} does not belong to the certificate ${names.cert}`);
  if (m.ca !== undefined) {
    const caWhat = `the TLS CA certificate ${names.ca ?? 'given'}`;
    const cas = certificates(m.ca, caWhat);
    if (cas.every((c) => new Date(c.validTo) < now)) throw new TlsConfigError(`${caWhat} expired on ${cas[0]!.validTo}`);
  }
  try {
    tls.createSecureContext({ key: m.key, cert: m.cert, ...(m.ca ? { ca: m.ca } : {}) });
  } catch (err) {
    throw new TlsConfigError(`the TLS key ${names.key}, certificate ${names.cert}${names.ca ? ` and CA ${names.ca}` : ''} cannot be used together: ${(err as Error).message}`);
  }
}

/** Certificate verification codes (X509_V_ERR_*) in an operator's words. */
const VERIFY_REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed, not signed by the CA (--tls-ca)',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chain ends in a CA other than --tls-ca',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by the CA (--tls-ca)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not signed by the CA (--tls-ca)',
  UNABLE_TO_GET_ISSUER_CERT: 'its certificate is not signed by the CA (--tls-ca)',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet (check the clocks)',
  CERT_SIGNATURE_FAILURE: 'its certificate\'s signature does not verify',
  CERT_REVOKED: 'its certificate was revoked',
};

/** OpenSSL reasons in an operator's words (the rest are passed on as they are). */
const SSL_REASONS: Record<string, string> = {
  'http request': 'it sent an HTTP request, not TLS',
  'wrong version number': 'it does not speak TLS (a tcp: controller target pointed at the TLS port?)',
  'unsupported protocol': 'it offered only TLS versions we do not accept',
  'peer did not return a certificate': 'it sent no certificate (one signed by --tls-ca is required)',
  'no shared cipher': 'it offered no cipher we share',
};

interface TlsErrorLike {
  code?: string;
  reason?: string;
  message: string;
}

/**
 * Why a switch's TLS handshake failed, in one sentence. `authorizationError` is the socket's
 * certificate verdict: Node reports a refused certificate as a bare "socket hang up".
 */
export function describeTlsFailure(err: TlsErrorLike, authorizationError?: string | Error | null): string {
  const verdict = authorizationError instanceof Error ? (authorizationError as TlsErrorLike).code ?? authorizationError.message : authorizationError;
  if (verdict) return `the switch's certificate was refused: ${VERIFY_REASONS[verdict] ?? verdict}`;
  // Connecting out, the verdict on the switch's certificate comes as the error itself.
  if (err.code && VERIFY_REASONS[err.code]) return `the switch's certificate was refused: ${VERIFY_REASONS[err.code]}`;
  if (err.reason) return SSL_REASONS[err.reason] ?? err.reason;
  if (err.code === 'ECONNRESET') {
    return 'the peer closed the connection during the TLS handshake (does it trust our certificate, i.e. is --tls-cert signed by a CA the switch knows? or is it no switch at all?)';
  }
  return (err.message.split('\n')[0] ?? '').trim() || 'unknown TLS error';
}
