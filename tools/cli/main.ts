#!/usr/bin/env node
// The `holdfast` command. See program.ts for the verbs.
import { main } from './program.js';

main(process.argv).then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  process.stderr.write(`holdfast: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
