// The core (apps/lb/core) is pure: neither it nor any module it imports, however indirectly,
// reaches for sockets, HTTP, timers, the store implementation or the runtime. Only type imports
// of the reconciler (DesiredState) are allowed.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseImports } from '../../../helpers/import-graph.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const coreDir = join(root, 'apps/lb/core');

interface Import { from: string; spec: string; typeOnly: boolean }

function importsOf(file: string): Import[] {
  return parseImports(readFileSync(file, 'utf8')).map((i) => ({ from: file, spec: i.spec, typeOnly: i.typeOnly }));
}

/** Every file reachable from the core through relative value imports, with all their imports. */
function closure(): Import[] {
  const seen = new Set<string>();
  const all: Import[] = [];
  const todo = readdirSync(coreDir).filter((f) => f.endsWith('.ts')).map((f) => join(coreDir, f));
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const i of importsOf(f)) {
      all.push(i);
      if (i.spec.startsWith('.') && !i.typeOnly) todo.push(resolve(dirname(f), i.spec.replace(/\.js$/, '.ts')));
    }
  }
  return all;
}

const rel = (f: string) => f.slice(root.length + 1);

describe('the load balancer core imports no I/O', () => {
  const all = closure();

  it('reads the core files and what they import', () => {
    expect(all.some((i) => rel(i.from) === 'apps/lb/core/lb-core.ts')).toBe(true);
    // The decision modules behind the LbCore facade are read too (the folder, not a list).
    for (const m of ['state', 'controls', 'lifecycle', 'switches', 'query', 'arp', 'health-reactions', 'pool', 'sync', 'profiles', 'stats', 'replies', 'tick']) {
      expect(all.some((i) => rel(i.from) === `apps/lb/core/${m}.ts`), m).toBe(true);
    }
    expect(all.some((i) => rel(i.from) === 'apps/lb/service-state.ts')).toBe(true);
  });

  it('no node built-ins, no store implementation, no runtime', () => {
    const bad = all.filter((i) => {
      const target = i.spec.startsWith('.') ? rel(resolve(dirname(i.from), i.spec)) : i.spec;
      // Of db/, only the record shapes (types); of the runtime, only types (DesiredState, handles).
      if (target.startsWith('db/')) return !(i.typeOnly && target === 'db/records.js');
      if (i.typeOnly) return false;
      return /^node:/.test(target) || /^(net|http|https|timers|fs|child_process|dgram|worker_threads)$/.test(target)
        || /^controller\/(index|connection|reconciler|runtime|log)\.js$/.test(target);
    }).map((i) => `${rel(i.from)} imports ${i.spec}`);
    expect(bad).toEqual([]);
  });

  it('the core files read no clock, no randomness and set no timer', () => {
    for (const f of readdirSync(coreDir).filter((x) => x.endsWith('.ts'))) {
      const code = readFileSync(join(coreDir, f), 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      expect(code, f).not.toMatch(/Date\.now|performance\.now|new Date\(|Math\.random|setTimeout|setInterval|setImmediate|process\./);
    }
  });
});
