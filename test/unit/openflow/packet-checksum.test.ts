import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { internetChecksum } from '../../../openflow/packet/checksum.js';
import {
  buildArpReply, buildIpv4Tcp, buildIpv4Udp, ipv4ToNumber, parsePacket,
} from '../../../openflow/packet/index.js';

/** Textbook RFC 1071, written differently on purpose: end-around carry after every word. */
function naiveChecksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i] << 8) + (i + 1 < bytes.length ? bytes[i + 1] : 0);
    if (sum > 0xffff) sum -= 0xffff;
  }
  return 0xffff - sum;
}

function pseudoHeader(src: string, dst: string, proto: number, len: number): number[] {
  const s = ipv4ToNumber(src);
  const d = ipv4ToNumber(dst);
  return [s >>> 24, (s >>> 16) & 255, (s >>> 8) & 255, s & 255, d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255, 0, proto, len >> 8, len & 255];
}

let seed = 4242;
const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
const ip = () => `${rnd(224)}.${rnd(256)}.${rnd(256)}.${rnd(256)}`;
const mac = () => Array.from({ length: 6 }, (_, i) => (i === 0 ? 2 : rnd(256)).toString(16).padStart(2, '0')).join(':');

interface Case { buf: Buffer; src: string; dst: string; proto: 6 | 17; srcPort: number; dstPort: number; flags: number; seq: number; ackNum: number; payloadLen: number; vlans: number[] }

function randomCase(): Case {
  const proto = rnd(2) ? 6 : 17;
  const c = {
    src: ip(), dst: ip(), srcPort: rnd(65536), dstPort: rnd(65536), flags: proto === 6 ? rnd(0x200) : 0,
    seq: rnd(0x7fffffff) * 2 + rnd(2), ackNum: rnd(0x7fffffff), payloadLen: rnd(40), vlans: rnd(3) ? [] : [1 + rnd(4094)],
  };
  const common = { ethSrc: mac(), ethDst: mac(), src: c.src, dst: c.dst, srcPort: c.srcPort, dstPort: c.dstPort, payload: Buffer.from(Array.from({ length: c.payloadLen }, () => rnd(256))), vlans: c.vlans };
  const buf = proto === 6
    ? buildIpv4Tcp({ ...common, flags: c.flags, seq: c.seq, ackNum: c.ackNum })
    : buildIpv4Udp(common);
  return { ...c, proto, buf };
}

describe('checksums', () => {
  it('internetChecksum matches the RFC 1071 example and a naive implementation', () => {
    // RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to ddf2, checksum 220d
    expect(internetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex'))).toBe(0x220d);
    for (let i = 0; i < 500; i++) {
      const bytes = Array.from({ length: rnd(100) }, () => rnd(256));
      expect(internetChecksum(Buffer.from(bytes))).toBe(naiveChecksum(bytes));
    }
  });

  it('builder IPv4, TCP and UDP checksums equal an independent computation', () => {
    for (let i = 0; i < 300; i++) {
      const c = randomCase();
      const r = parsePacket(c.buf);
      if (!r.ok) throw new Error(r.error);
      const o = r.packet.l3Offset;
      const ipHdr = [...c.buf.subarray(o, o + 20)];
      const stored = c.buf.readUInt16BE(o + 10);
      ipHdr[10] = ipHdr[11] = 0;
      expect(stored).toBe(naiveChecksum(ipHdr));

      const seg = [...c.buf.subarray(o + 20)];
      const ck = c.proto === 6 ? 16 : 6;
      const l4Stored = c.buf.readUInt16BE(o + 20 + ck);
      seg[ck] = seg[ck + 1] = 0;
      let expected = naiveChecksum([...pseudoHeader(c.src, c.dst, c.proto, seg.length), ...seg]);
      if (c.proto === 17 && expected === 0) expected = 0xffff;
      expect(l4Stored).toBe(expected);
    }
  });
});

const haveTshark = (() => {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function pcap(packets: Buffer[]): Buffer {
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(1, 20); // Ethernet
  const parts: Buffer[] = [gh];
  for (const p of packets) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(p.length, 8);
    h.writeUInt32LE(p.length, 12);
    parts.push(h, p);
  }
  return Buffer.concat(parts);
}

describe.skipIf(!haveTshark)('tshark as an oracle', () => {
  it('decodes builder packets to the same fields and finds every checksum good', () => {
    const cases = Array.from({ length: 150 }, randomCase);
    const arp = buildArpReply({ senderMac: '02:00:00:00:00:09', senderIp: '10.0.0.9', targetMac: '02:00:00:00:00:01', targetIp: '10.0.0.1' });
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-pcap-'));
    try {
      const file = join(dir, 'p.pcap');
      writeFileSync(file, pcap([...cases.map((c) => c.buf), arp]));
      const fields = ['ip.src', 'ip.dst', 'ip.proto', 'ip.checksum.status', 'tcp.srcport', 'tcp.dstport', 'tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw',
        'tcp.checksum.status', 'udp.srcport', 'udp.dstport', 'udp.checksum.status', 'vlan.id', 'arp.opcode', 'arp.src.hw_mac', 'arp.src.proto_ipv4', 'arp.dst.proto_ipv4'];
      const out = execFileSync('tshark', [
        '-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
        '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f]),
      ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const rows = out.trimEnd().split('\n').map((l) => Object.fromEntries(l.split('|').map((v, i) => [fields[i], v])));
      expect(rows).toHaveLength(cases.length + 1);
      cases.forEach((c, i) => {
        const row = rows[i];
        expect(row['ip.src']).toBe(c.src);
        expect(row['ip.dst']).toBe(c.dst);
        expect(Number(row['ip.proto'])).toBe(c.proto);
        expect(row['ip.checksum.status']).toBe('1'); // 1 = good
        expect(row['vlan.id']).toBe(c.vlans.length ? String(c.vlans[0]) : '');
        if (c.proto === 6) {
          expect(Number(row['tcp.srcport'])).toBe(c.srcPort);
          expect(Number(row['tcp.dstport'])).toBe(c.dstPort);
          expect(Number(row['tcp.flags'])).toBe(c.flags);
          expect(Number(row['tcp.seq_raw'])).toBe(c.seq);
          expect(Number(row['tcp.ack_raw'])).toBe(c.ackNum);
          expect(row['tcp.checksum.status']).toBe('1');
        } else {
          expect(Number(row['udp.srcport'])).toBe(c.srcPort);
          expect(Number(row['udp.dstport'])).toBe(c.dstPort);
          expect(row['udp.checksum.status']).toBe('1');
        }
      });
      const a = rows[cases.length];
      expect(a['arp.opcode']).toBe('2');
      expect(a['arp.src.hw_mac']).toBe('02:00:00:00:00:09');
      expect(a['arp.src.proto_ipv4']).toBe('10.0.0.9');
      expect(a['arp.dst.proto_ipv4']).toBe('10.0.0.1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(existsSync(dir)).toBe(false);
  });

});
