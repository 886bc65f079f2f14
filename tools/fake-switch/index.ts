// One fake OpenFlow switch for tests and benchmarks: a flow table that answers "where does this
// packet go" (flow-table.ts), the handshake a minimal switch answers (handshake.ts), and the
// scriptable switch on the wire that uses both (switch.ts).
export * from './fields.js';
export * from './flow-table.js';
export * from './handshake.js';
export { FakeSwitch, type FakeSwitchOptions } from './switch.js';
