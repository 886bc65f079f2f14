// Heap measurements for memory tests that run the controller in the test process: a real GC
// between measurements (exposed once, here), and a parallel driver for connect/disconnect cycles.
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap in use after a few full collections (spaced so finalizers and timers can run). */
export async function heapAfterGc(rounds = 4, pauseMs = 100): Promise<number> {
  for (let i = 0; i < rounds; i++) {
    await new Promise((r) => setTimeout(r, pauseMs));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** Runs `cycle(0..n-1)` with at most `parallel` in flight. */
export async function inParallel(n: number, parallel: number, cycle: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) await cycle(next++);
  }));
}
