// Public face of the OpenFlow codec.
export * from './types.js';
export { CodecError, Reader, Writer } from './buf.js';
export * from './oxm.js';
export * from './actions.js';
export * from './instructions.js';
export * from './buckets.js';
export * from './errors.js';
export * from './port.js';
export * from './messages.js';
export * from './multipart.js';
export * from './framing.js';
export * from './builders.js';
export * from './packet/index.js';
export * from './nicira.js';
