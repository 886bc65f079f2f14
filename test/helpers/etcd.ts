// A private etcd lives in tools/rig (benchmarks use it too).
export * from '../../tools/rig/etcd.js';
