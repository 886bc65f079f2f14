import { describe, expect, it } from 'vitest';
import { controllerTarget, LAB_NETNS_RE, LabSpecError, parseCidr, planLab, type LabSpec } from '../../tools/lab/plan.js';

const ID = 'hf00ab12';
const plan = (spec: LabSpec) => planLab(spec, ID, '/tmp/x');

describe('lab plan', () => {
  it('derives names, ofports and MACs', () => {
    const p = plan({
      bridges: [{ name: 'br0' }, { name: 'br1', protocols: ['OpenFlow13'] }],
      hosts: [
        { name: 'a', bridge: 'br0', ip: '10.0.0.1/24', ofport: 2 },
        { name: 'b', bridge: 'br0', ip: '10.0.0.2/24' },
        { name: 'c', bridge: 'br0', ip: '10.0.0.3/24' },
        { name: 'd', bridge: 'br1', ip: '10.1.0.1/16', mac: '0A:00:00:00:00:09' },
      ],
    });
    expect(p.ovsNetns).toBe('hf00ab12-ovs');
    expect(p.hosts.map((h) => [h.netns, h.veth, h.port, h.ofport, h.mac])).toEqual([
      ['hf00ab12-h-a', 'hf00ab12h1', 'hf00ab12p1', 2, '02:00:00:00:00:01'],
      ['hf00ab12-h-b', 'hf00ab12h2', 'hf00ab12p2', 1, '02:00:00:00:00:02'],
      ['hf00ab12-h-c', 'hf00ab12h3', 'hf00ab12p3', 3, '02:00:00:00:00:03'],
      ['hf00ab12-h-d', 'hf00ab12h4', 'hf00ab12p4', 1, '0a:00:00:00:00:09'],
    ]);
    expect(p.hosts[3]).toMatchObject({ ip: '10.1.0.1', prefixLen: 16, cidr: '10.1.0.1/16' });
    expect(p.bridges[0].protocols).toEqual(['OpenFlow13', 'OpenFlow14', 'OpenFlow15']);
    expect(p.bridges[1].protocols).toEqual(['OpenFlow13']);
    expect(p.namespaces).toEqual(['hf00ab12-ovs', 'hf00ab12-h-a', 'hf00ab12-h-b', 'hf00ab12-h-c', 'hf00ab12-h-d']);
    expect(p.namespaces.every((ns) => LAB_NETNS_RE.exec(ns)?.[1] === ID)).toBe(true);
    expect(p.hosts.every((h) => h.veth.length <= 15 && h.port.length <= 15)).toBe(true);
  });

  it.each<[string, LabSpec, RegExp]>([
    ['no bridge', { bridges: [], hosts: [] }, /at least one bridge/],
    ['long bridge name', { bridges: [{ name: 'a-very-long-bridge' }], hosts: [] }, /bad bridge name/],
    ['unknown bridge', { bridges: [{ name: 'br0' }], hosts: [{ name: 'h', bridge: 'br1', ip: '10.0.0.1/24' }] }, /unknown bridge/],
    ['bad ip', { bridges: [{ name: 'br0' }], hosts: [{ name: 'h', bridge: 'br0', ip: '10.0.0.300/24' }] }, /bad IPv4/],
    ['no prefix', { bridges: [{ name: 'br0' }], hosts: [{ name: 'h', bridge: 'br0', ip: '10.0.0.1' }] }, /bad IPv4/],
    ['dup ofport', { bridges: [{ name: 'br0' }], hosts: [{ name: 'h', bridge: 'br0', ip: '10.0.0.1/24', ofport: 3 }, { name: 'g', bridge: 'br0', ip: '10.0.0.2/24', ofport: 3 }] }, /already used/],
    ['dup host', { bridges: [{ name: 'br0' }], hosts: [{ name: 'h', bridge: 'br0', ip: '10.0.0.1/24' }, { name: 'h', bridge: 'br0', ip: '10.0.0.2/24' }] }, /duplicate host/],
    ['dup mac', { bridges: [{ name: 'br0' }], hosts: [{ name: 'h', bridge: 'br0', ip: '10.0.0.1/24', mac: '02:00:00:00:00:02' }, { name: 'g', bridge: 'br0', ip: '10.0.0.2/24' }] }, /duplicate MAC/],
    ['bad dpid', { bridges: [{ name: 'br0', datapathId: '12' }], hosts: [] }, /16 hex/],
    ['bad protocol', { bridges: [{ name: 'br0', protocols: ['OpenFlow16'] }], hosts: [] }, /bad protocols/],
    ['bad controller port', { bridges: [{ name: 'br0', controller: { host: '127.0.0.1', port: 0 } }], hosts: [] }, /bad TCP port/],
    ['two TLS configs', {
      bridges: [
        { name: 'br0', controller: { host: '127.0.0.1', port: 1, tls: { key: 'a', cert: 'b', ca: 'c' } } },
        { name: 'br1', controller: { host: '127.0.0.1', port: 1, tls: { key: 'x', cert: 'b', ca: 'c' } } },
      ],
      hosts: [],
    }, /one SSL configuration/],
  ])('rejects %s', (_, spec, msg) => {
    expect(() => plan(spec)).toThrow(LabSpecError);
    expect(() => plan(spec)).toThrow(msg);
  });

  it('parses CIDRs and builds controller targets', () => {
    expect(parseCidr('192.168.1.7/32')).toEqual({ ip: '192.168.1.7', prefixLen: 32 });
    expect(controllerTarget({ host: '127.0.0.1', port: 6653 }, 16000)).toBe('tcp:127.0.0.1:16000');
    expect(controllerTarget({ host: '127.0.0.1', port: 6653, tls: { key: 'k', cert: 'c', ca: 'a' } }, 16001)).toBe('ssl:127.0.0.1:16001');
  });
});
