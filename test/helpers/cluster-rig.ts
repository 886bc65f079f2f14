// The cluster rig lives in tools/rig (the crash-vs-failover benchmark runs it too).
export * from '../../tools/rig/cluster-rig.js';
