// The rig's free-port helper lives in tools/rig (benchmarks use it too).
export { freePort } from '../../tools/rig/ports.js';
