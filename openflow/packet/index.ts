// Packet parsing and building for packet-in / packet-out data.
export * from './types.js';
export * from './addr.js';
export { parsePacket } from './parse.js';
export { extractFlowKey, extractFlowKeyInto } from './flowkey.js';
export { internetChecksum, ipv4L4Checksum } from './checksum.js';
export {
  buildArpRequest, buildArpReply, buildIpv4Tcp, buildIpv4Udp, BROADCAST_MAC,
  type ArpRequestOptions, type ArpReplyOptions, type Ipv4TcpOptions, type Ipv4UdpOptions,
} from './build.js';
