// Switch configuration: GET_CONFIG/SET_CONFIG (fragment flags, miss_send_len) and the 1.3 async
// configuration (which async messages each controller role receives).
import { CodecError, type Reader, type Writer } from '../buf.js';
import { defineMessage } from '../registry.js';
import type { MessageBase, WireVersion } from '../types.js';
import { done, headerOnly } from './body.js';

/** Masks per role: [master/equal, slave]. */
export interface AsyncMasks { packetInMask: [number, number]; portStatusMask: [number, number]; flowRemovedMask: [number, number] }

declare module '../types.js' {
  interface OfMessageMap {
    get_config_request: MessageBase & { type: 'get_config_request' };
    get_config_reply: MessageBase & { type: 'get_config_reply'; flags: number; missSendLen: number };
    set_config: MessageBase & { type: 'set_config'; flags: number; missSendLen: number };
    get_async_request: MessageBase & { type: 'get_async_request' };
    get_async_reply: MessageBase & { type: 'get_async_reply' } & AsyncMasks;
    set_async: MessageBase & { type: 'set_async' } & AsyncMasks;
  }
}

function readSwitchConfig(r: Reader): { flags: number; missSendLen: number } {
  const flags = r.u16();
  const missSendLen = r.u16();
  done(r, 'switch config');
  return { flags, missSendLen };
}

function writeSwitchConfig(w: Writer, c: { flags: number; missSendLen: number }): void {
  w.u16(c.flags); w.u16(c.missSendLen);
}

export const getConfigRequest = defineMessage({
  type: 'get_config_request', code: 7, versions: [4, 5, 6],
  ...headerOnly('get_config_request'),
});

export const getConfigReply = defineMessage({
  type: 'get_config_reply', code: 8, versions: [4, 5, 6],
  read: (r, version, xid) => ({ type: 'get_config_reply', version, xid, ...readSwitchConfig(r) }),
  write: writeSwitchConfig,
});

export const setConfig = defineMessage({
  type: 'set_config', code: 9, versions: [4, 5, 6],
  read: (r, version, xid) => ({ type: 'set_config', version, xid, ...readSwitchConfig(r) }),
  write: writeSwitchConfig,
});

function readAsyncMasks(r: Reader, version: WireVersion): AsyncMasks | undefined {
  if (version >= 5) return undefined; // 1.4+ async config is property based: not modelled
  const packetInMask: [number, number] = [r.u32(), r.u32()];
  const portStatusMask: [number, number] = [r.u32(), r.u32()];
  const flowRemovedMask: [number, number] = [r.u32(), r.u32()];
  done(r, 'async config');
  return { packetInMask, portStatusMask, flowRemovedMask };
}

function writeAsyncMasks(w: Writer, m: AsyncMasks & MessageBase): void {
  if (m.version >= 5) throw new CodecError('bad_value', 'OpenFlow 1.4+ async config is not modelled');
  for (const x of [...m.packetInMask, ...m.portStatusMask, ...m.flowRemovedMask]) w.u32(x);
}

export const getAsyncRequest = defineMessage({
  type: 'get_async_request', code: 26, versions: [4, 5, 6],
  ...headerOnly('get_async_request'),
});

export const getAsyncReply = defineMessage({
  type: 'get_async_reply', code: 27, versions: [4, 5, 6],
  read(r, version, xid) {
    const m = readAsyncMasks(r, version);
    return m && { type: 'get_async_reply', version, xid, ...m };
  },
  write: writeAsyncMasks,
});

export const setAsync = defineMessage({
  type: 'set_async', code: 28, versions: [4, 5, 6],
  read(r, version, xid) {
    const m = readAsyncMasks(r, version);
    return m && { type: 'set_async', version, xid, ...m };
  },
  write: writeAsyncMasks,
});

export const CONFIG_MESSAGES = [getConfigRequest, getConfigReply, setConfig, getAsyncRequest, getAsyncReply, setAsync] as const;
