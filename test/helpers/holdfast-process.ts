// The real `holdfast start` process and CLI runner live in tools/rig (benchmarks use them too).
export * from '../../tools/rig/holdfast-process.js';
