// What a minimal OpenFlow switch answers outside its flow table: HELLO, echo, features, the
// description and port multiparts, barriers, bundle control. Shared by the scriptable fake switch
// (switch.ts) and the benchmarks' emulated switch (tools/bench/lb-emulator.ts), which keeps its
// own raw hot path but answers the controller's handshake and housekeeping through this.
import net from 'node:net';
import type {
  FlowStats, GroupDesc, GroupFeatures, MessageOf, OfMessage, Port, SwitchDesc, WireVersion,
} from '../../openflow/types.js';
import { encodeMessage } from '../../openflow/messages.js';

export interface SwitchIdentity {
  dpid: bigint;
  nTables: number;
  capabilities: number;
  ports: Port[];
  desc: SwitchDesc;
  /** Answered to a group-features request when set; otherwise that request is refused. */
  groupFeatures?: GroupFeatures;
}

/** Where flow and group dumps come from; absent: those requests are refused (BAD_MULTIPART). */
export interface DumpSource {
  flows(): FlowStats[];
  groupDescs(): GroupDesc[];
}

export interface ControlOptions {
  /** Answer echo requests (default true). */
  answerEcho?: boolean;
  /** Accept bundle opens (default true). */
  bundles?: boolean;
  dumps?: DumpSource;
}

export function port(portNo: number, name: string, hwAddr: string, speedKbps = 0): Port {
  return { portNo, hwAddr, name, config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: speedKbps, maxSpeed: speedKbps };
}

/** A HELLO of header version `version` with a version bitmap (null: no bitmap element). */
export function helloBytes(version = 4, bitmap: readonly number[] | null = [4]): Buffer {
  const len = bitmap ? 16 : 8;
  const b = Buffer.alloc(len);
  b[0] = version;
  b.writeUInt16BE(len, 2);
  b.writeUInt32BE(1, 4);
  if (bitmap) {
    b.writeUInt16BE(1, 8); // OFPHET_VERSIONBITMAP
    b.writeUInt16BE(8, 10);
    let word = 0;
    for (const v of bitmap) word |= 1 << v;
    b.writeUInt32BE(word >>> 0, 12);
  }
  return b;
}

/** The version this fake speaks after the controller's HELLO (it offers 1.3 only). */
export function negotiated(hello: MessageOf<'hello'>): WireVersion {
  return (hello.version >= 4 && hello.version <= 6 ? Math.min(hello.version, 4) : 4) as WireVersion;
}

type ErrorOf = MessageOf<'error'>;

/** An OFPT_ERROR for message `m` (its first 64 bytes as data, as switches send). */
export function errorFor(m: OfMessage, version: WireVersion, errType: ErrorOf['errType'], code: number): ErrorOf {
  return { type: 'error', version, xid: m.xid, errType, code, data: encodeMessage(m).subarray(0, 64) };
}

/**
 * The replies to a control message, or null when `m` is not one this module answers (flow-mods,
 * group-mods, packet-outs, bundle adds: the caller's table handles those). Bundle control is
 * answered here only for open/close/discard and a refused open; the caller commits.
 */
export function controlReplies(m: OfMessage, id: SwitchIdentity, version: WireVersion, o: ControlOptions = {}): OfMessage[] | null {
  const xid = m.xid;
  switch (m.type) {
    case 'echo_request':
      return o.answerEcho === false ? [] : [{ type: 'echo_reply', version, xid, data: m.data }];
    case 'features_request':
      return [{ type: 'features_reply', version, xid, datapathId: id.dpid, nBuffers: 0, nTables: id.nTables, auxiliaryId: 0, capabilities: id.capabilities }];
    case 'barrier_request':
      return [{ type: 'barrier_reply', version, xid }];
    case 'bundle_control':
      if (o.bundles === false) return [errorFor(m, version, 'bad_request', 1)]; // OFPBRC_BAD_TYPE
      if (m.controlType === 'commit_request') return null;
      return [{ ...m, version, controlType: m.controlType.replace('_request', '_reply') as typeof m.controlType }];
    case 'multipart_request': {
      const reply = (body: MessageOf<'multipart_reply'>['body']): OfMessage[] => [{ type: 'multipart_reply', version, xid, flags: 0, body }];
      switch (m.body.kind) {
        case 'port_desc': return reply({ kind: 'port_desc', ports: id.ports });
        case 'desc': return reply({ kind: 'desc', desc: id.desc });
        case 'group_features':
          if (id.groupFeatures) return reply({ kind: 'group_features', features: id.groupFeatures });
          break;
        case 'flow':
          if (o.dumps) return reply({ kind: 'flow', flows: o.dumps.flows() });
          break;
        case 'group_desc':
          if (o.dumps) return reply({ kind: 'group_desc', groups: o.dumps.groupDescs() });
          break;
        case 'group':
          if (o.dumps) return reply({ kind: 'group', groups: [] });
          break;
        default:
          break;
      }
      return [errorFor(m, version, 'bad_request', 2)]; // OFPBRC_BAD_MULTIPART
    }
    case 'hello':
      return [];
    default:
      return null;
  }
}

/** Connects to a controller and sends our HELLO once connected. */
export function connectToController(host: string, portNo: number, hello: Buffer): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: portNo }, () => {
      socket.off('error', reject);
      socket.write(hello);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
