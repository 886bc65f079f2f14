// How a benchmark prints its result, the same whether the dispatcher runs it (`npm run bench --
// <name>`, tools/bench/run.ts) or it runs as its own script (`node dist/tools/bench/<name>.js`):
// with --json, one JSON object (the benchmark's name, the Node.js version, the result's fields),
// else the benchmark's own text.
import { fileURLToPath } from 'node:url';

export function printResult<R extends object>(bench: string, r: R, format: (r: R) => string, json: boolean): void {
  console.log(json ? JSON.stringify({ bench, node: process.version, ...r }, null, 2) : format(r));
}

/** Is the module at `metaUrl` the script node was started with (node dist/tools/bench/<name>.js)? */
export function isMain(metaUrl: string): boolean {
  return process.argv[1] !== undefined && process.argv[1] === fileURLToPath(metaUrl);
}

/**
 * A benchmark as its own script: runs it, prints its result (`argv` holds --json or not) and
 * exits 0; on an error prints it and exits 1. It exits rather than waiting for the event loop to
 * empty: a benchmark may leave emulators or sockets behind that would keep the process up.
 */
export function runAsScript<R extends object>(bench: string, argv: readonly string[], run: () => R | Promise<R>, format: (r: R) => string): void {
  Promise.resolve().then(run).then(
    (r) => {
      printResult(bench, r, format, argv.includes('--json'));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(`${bench}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
