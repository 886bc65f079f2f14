// Public face of the OpenFlow codec.
export * from './types.js';
