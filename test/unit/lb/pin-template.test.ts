// The pre-encoded hot-path messages are byte-for-byte what the codec encodes for the same values.
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../../openflow/messages.js';
import { numberToIpv4 } from '../../../openflow/packet/addr.js';
import { OFP_NO_BUFFER, type WireVersion } from '../../../openflow/types.js';
import { forwardActions, pinFlowMod, type BackendTarget } from '../../../apps/lb/pipeline.js';
import { buildPacketOutTemplate, buildPinTemplate, fillPacketOut, fillPin } from '../../../apps/lb/pin-template.js';
import { SERVICE_DEFAULTS, type Service } from '../../../apps/lb/model.js';
import { prng } from './prng.js';

function service(mode: 'nat' | 'dsr', proto: 'tcp' | 'udp'): Service {
  return { ...SERVICE_DEFAULTS, name: 's', vip: '10.0.0.100', port: 80, mode, proto, id: 7, vmac: '02:48:46:00:00:07', createdAt: 0 };
}
const target: BackendTarget = { id: 12, ip: '10.0.0.11', l4port: 8080, mac: '02:00:00:00:00:11', port: 3 };

describe('pin and packet-out templates', () => {
  for (const version of [4, 5, 6] as WireVersion[]) {
    for (const mode of ['nat', 'dsr'] as const) {
      for (const proto of ['tcp', 'udp'] as const) {
        it(`match the codec (v${version}, ${mode}, ${proto})`, () => {
          const s = service(mode, proto);
          const opts = proto === 'tcp' ? { finTimeout: 2 } : {};
          const pinTpl = buildPinTemplate(s, target, version, opts);
          const outTpl = buildPacketOutTemplate(s, target, version);
          const rnd = prng(version * 10 + (mode === 'nat' ? 1 : 2));
          for (let i = 0; i < 200; i++) {
            const ip = (rnd.int(0, 0xffff) * 0x10000 + rnd.int(0, 0xffff)) >>> 0;
            const port = rnd.int(0, 0xffff);
            const xid = rnd.int(0, 0x7fffffff);
            const want = encodeMessage({ ...pinFlowMod(s, { srcIp: numberToIpv4(ip), srcPort: port }, target, opts), version, xid });
            const buf = Buffer.alloc(pinTpl.bytes.length + 8, 0xaa);
            fillPin(pinTpl, buf, 4, xid, ip, port);
            expect(buf.subarray(4, 4 + pinTpl.bytes.length).equals(want)).toBe(true);

            const data = Buffer.alloc(rnd.int(14, 300), rnd.int(0, 255));
            const inPort = rnd.int(1, 1000) === target.port ? 1 : rnd.int(4, 1000);
            const wantOut = encodeMessage({
              type: 'packet_out', version, xid, bufferId: OFP_NO_BUFFER, inPort, actions: forwardActions(s, target), data,
            });
            const out = Buffer.alloc(outTpl.bytes.length + data.length);
            fillPacketOut(outTpl, out, 0, xid, inPort, data);
            expect(out.equals(wantOut)).toBe(true);
          }
        });
      }
    }
  }
});
