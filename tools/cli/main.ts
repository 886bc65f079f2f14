#!/usr/bin/env node
import { Command } from 'commander';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
program.name('holdfast').description('Connection-preserving L4 load balancer on OpenFlow switches').version(pkg.version);
program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`holdfast: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
