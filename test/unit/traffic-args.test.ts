import { describe, expect, it } from 'vitest';
import { parseClientArgs, parseEndpoint, parseServerArgs, TrafficArgError, type ClientOptions, type ServerOptions } from '../../tools/traffic/args.js';

const client = (argv: string[]): ClientOptions => {
  const p = parseClientArgs(argv);
  if (p.kind !== 'run') throw new Error('expected run');
  return p.options;
};
const server = (argv: string[]): ServerOptions => {
  const p = parseServerArgs(argv);
  if (p.kind !== 'run') throw new Error('expected run');
  return p.options;
};
/** The error message, which must be one line. */
const err = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TrafficArgError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected an error');
};

describe('traffic client arguments', () => {
  it('parses every option', () => {
    const o = client(['--target', '10.0.0.100:80', '--udp-target', '10.0.0.100:53', '--long', '200', '--interval-ms', '50', '--jitter', '0.1',
      '--new-rate', '50', '--udp-flows', '8', '--duration-ms', '30000', '--report-ms', '1000', '--stall-ms', '2000', '--start-stagger-ms', '500',
      '--max-inflight', '100', '--bind-ip', '10.0.0.1']);
    expect(o).toEqual({ target: { host: '10.0.0.100', port: 80 }, udpTarget: { host: '10.0.0.100', port: 53 }, long: 200, intervalMs: 50, jitter: 0.1,
      newRate: 50, udpFlows: 8, durationMs: 30000, reportMs: 1000, stallMs: 2000, startStaggerMs: 500, maxInflight: 100, bindIp: '10.0.0.1' });
  });

  it('fills defaults', () => {
    expect(client(['--target', '127.0.0.1:9', '--long', '1'])).toEqual({ target: { host: '127.0.0.1', port: 9 }, udpTarget: undefined, long: 1, intervalMs: 100,
      jitter: 0.25, newRate: 0, udpFlows: 0, durationMs: 0, reportMs: 0, stallMs: 3000, startStaggerMs: 0, maxInflight: 500, bindIp: undefined });
  });

  it('accepts the = form and IPv6 targets', () => {
    expect(client(['--udp-target=[::1]:53', '--udp-flows=2']).udpTarget).toEqual({ host: '::1', port: 53 });
  });

  it('rejects bad values with one-line messages naming the option', () => {
    expect(err(() => client(['--target', '10.0.0.1', '--long', '1']))).toMatch(/--target "10.0.0.1": expected IP:PORT/);
    expect(err(() => client(['--target', 'example.com:80', '--long', '1']))).toMatch(/not an IP address/);
    expect(err(() => client(['--target', '10.0.0.1:70000', '--long', '1']))).toMatch(/--target port/);
    expect(err(() => client(['--target', '10.0.0.1:80', '--long=-1']))).toMatch(/bad --long "-1"/);
    expect(err(() => client(['--target', '10.0.0.1:80', '--long', '-1']))).toMatch(/--long/);
    expect(err(() => client(['--target', '10.0.0.1:80', '--long', '1.5']))).toMatch(/bad --long "1.5": expected a whole number/);
    expect(err(() => client(['--target', '10.0.0.1:80', '--long', '1', '--interval-ms', '0']))).toMatch(/--interval-ms/);
    expect(err(() => client(['--target', '10.0.0.1:80', '--long', '1', '--jitter', '2']))).toMatch(/--jitter/);
    expect(err(() => client(['--target', '10.0.0.1:80', '--long', '1', '--bind-ip', 'x']))).toMatch(/--bind-ip/);
    expect(err(() => client(['--target', '10.0.0.1:80', '--long', '1', '--bogus', '1']))).toMatch(/bogus/);
  });

  it('requires some work and the targets it needs', () => {
    expect(err(() => client(['--target', '10.0.0.1:80']))).toMatch(/nothing to do/);
    expect(err(() => client(['--long', '3']))).toMatch(/--target IP:PORT is required/);
    expect(err(() => client(['--new-rate', '3']))).toMatch(/--target IP:PORT is required/);
    expect(err(() => client(['--target', '10.0.0.1:80', '--udp-flows', '3']))).toMatch(/--udp-target/);
    expect(err(() => client(['--target', '10.0.0.1:80', '--long', '1', '--bind-ip', '::1']))).toMatch(/address family/);
  });

  it('answers --help with the usage', () => {
    expect(parseClientArgs(['--help'])).toMatchObject({ kind: 'help', text: expect.stringContaining('--udp-flows') });
  });
});

describe('traffic server arguments', () => {
  it('parses name, ports and bind address', () => {
    expect(server(['--name', 'b1', '--tcp', '8080', '--udp', '8081'])).toEqual({ name: 'b1', bind: '0.0.0.0', tcpPort: 8080, udpPort: 8081 });
    expect(server(['--name', 'b2', '--udp', '0', '--bind', '127.0.0.1'])).toEqual({ name: 'b2', bind: '127.0.0.1', tcpPort: undefined, udpPort: 0 });
  });

  it('rejects missing or unusable values', () => {
    expect(err(() => server(['--tcp', '80']))).toMatch(/--name is required/);
    expect(err(() => server(['--name', 'two words', '--tcp', '80']))).toMatch(/bad --name/);
    expect(err(() => server(['--name', 'b1']))).toMatch(/nothing to serve/);
    expect(err(() => server(['--name', 'b1', '--tcp', '65536']))).toMatch(/bad --tcp/);
    expect(err(() => server(['--name', 'b1', '--tcp', '80', '--bind', 'localhost']))).toMatch(/bad --bind/);
  });
});

describe('parseEndpoint', () => {
  it('requires brackets around IPv6', () => {
    expect(parseEndpoint('[fe80::1]:80', 'target')).toEqual({ host: 'fe80::1', port: 80 });
    expect(err(() => parseEndpoint('fe80::1:80', 'target'))).toMatch(/expected IP:PORT/);
    expect(err(() => parseEndpoint('[10.0.0.1]:80', 'target'))).toMatch(/not an IP address/);
  });
});
