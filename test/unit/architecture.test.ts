// The layers, checked on the real source: every import of every .ts under the five source folders
// runs along the arrows, and no files import each other in a circle. The checker is tested first on
// made-up graphs, so a passing run means "no violation" and not "the checker sees nothing".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCycles, layerViolations, parseImports, readImportGraph, type ImportGraph, type LayerRules } from '../helpers/import-graph.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FOLDERS = ['openflow', 'controller', 'db', 'apps', 'tools'] as const;

/**
 * Which folders each layer may import besides its own. Tests (test/) may import anything and are
 * not checked.
 * - openflow: the wire protocol; nothing of ours.
 * - controller: the OpenFlow runtime and the generic management server; openflow only.
 * - db: the stores. Nothing of ours: they keep the records declared in db/records.ts and implement
 *   the app's storage interface (apps/lb/store.ts) structurally, so a store can be reused, tested
 *   and reasoned about without the app; the wiring that hands a store to the app is in tools/.
 * - apps: openflow, controller (runtime, management server) and db (the record shapes).
 * - tools: anything but tests.
 */
const LAYERS: LayerRules = {
  openflow: [],
  controller: ['openflow'],
  db: [],
  apps: ['openflow', 'controller', 'db'],
  tools: ['openflow', 'controller', 'db', 'apps'],
};

/** Served to the browser as compiled (the live view imports it): no import may survive compiling. */
const BROWSER_MODULES = ['apps/lb/event-text.ts'];

const graph = (edges: Record<string, [string, boolean?][]>): ImportGraph =>
  new Map(Object.entries(edges).map(([from, to]) => [from, to.map(([t, typeOnly]) => ({ to: t, typeOnly: typeOnly ?? false }))]));

describe('the import checker', () => {
  it('reads every kind of import, and knows the ones that compile away', () => {
    const src = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "import { type C, type D } from './cd.js';",
      "import { e, type E } from './e.js';",
      "import './side-effect.js';",
      "export { f } from './f.js';",
      "export type { G } from './g.js';",
      "export * from './h.js';",
      "import {\n  i,\n  j,\n} from './ij.js';",
      "const k = await import('./k.js');",
      "// import { no } from './comment.js';",
      "/* import { no } from './block.js'; */",
      "import { readFileSync } from 'node:fs';",
    ].join('\n');
    expect(parseImports(src)).toEqual([
      { spec: './a.js', typeOnly: false },
      { spec: '../b.js', typeOnly: true },
      { spec: './cd.js', typeOnly: true },
      { spec: './e.js', typeOnly: false },
      { spec: './side-effect.js', typeOnly: false },
      { spec: './f.js', typeOnly: false },
      { spec: './g.js', typeOnly: true },
      { spec: './h.js', typeOnly: false },
      { spec: './ij.js', typeOnly: false },
      { spec: 'node:fs', typeOnly: false },
      { spec: './k.js', typeOnly: false },
    ]);
  });

  it('finds an import against the layers, type-only ones too', () => {
    const g = graph({
      'openflow/codec.ts': [],
      'controller/runtime.ts': [['openflow/codec.ts']],
      'controller/bad.ts': [['apps/lb/model.ts', true]],
      'apps/lb/model.ts': [['db/records.ts'], ['controller/runtime.ts']],
      'db/records.ts': [],
      'db/bad.ts': [['apps/lb/model.ts']],
      'scripts/x.ts': [],
    });
    expect(layerViolations(g, LAYERS)).toEqual([
      { from: 'controller/bad.ts', to: 'apps/lb/model.ts', why: 'controller/ may import openflow, not apps/' },
      { from: 'db/bad.ts', to: 'apps/lb/model.ts', why: 'db/ may import nothing of ours, not apps/' },
      { from: 'scripts/x.ts', to: '', why: 'scripts/ has no layer rule' },
    ]);
  });

  it('finds import cycles, a file importing itself included, and only real ones', () => {
    const g = graph({
      'apps/a.ts': [['apps/b.ts']],
      'apps/b.ts': [['apps/c.ts', true]],
      'apps/c.ts': [['apps/a.ts']],
      'apps/d.ts': [['apps/a.ts'], ['apps/d.ts']],
      'apps/e.ts': [['apps/d.ts']],
    });
    expect(importCycles(g, { includeTypeOnly: true })).toEqual([['apps/a.ts', 'apps/b.ts', 'apps/c.ts'], ['apps/d.ts']]);
    // Without the type-only edge b → c the circle a → b → c → a is broken.
    expect(importCycles(g, { includeTypeOnly: false })).toEqual([['apps/d.ts']]);
  });
});

describe('the source', () => {
  const real = readImportGraph(ROOT, FOLDERS);

  it('is read whole', () => {
    // A broken reader that sees no files or no imports would pass every check below.
    expect(real.size).toBeGreaterThan(100);
    expect(real.get('controller/management/server.ts')?.map((e) => e.to)).toContain('controller/management/auth.ts');
    expect(real.get('apps/lb/web/server.ts')?.map((e) => e.to)).toContain('controller/management/server.ts');
  });

  it('imports only along the layers', () => {
    expect(layerViolations(real, LAYERS)).toEqual([]);
  });

  it('imports only files that exist', () => {
    const missing = [...real].flatMap(([from, edges]) => edges.filter((e) => {
      try {
        readFileSync(join(ROOT, e.to));
        return false;
      } catch {
        return true;
      }
    }).map((e) => `${from} → ${e.to}`));
    expect(missing).toEqual([]);
  });

  it('has no import cycles, counting type-only imports', () => {
    expect(importCycles(real, { includeTypeOnly: true })).toEqual([]);
  });

  it('serves the browser modules without imports', () => {
    for (const file of BROWSER_MODULES) {
      expect(real.get(file)?.every((e) => e.typeOnly), file).toBe(true);
      // ...and no package either (a browser cannot resolve bare names).
      expect(parseImports(readFileSync(join(ROOT, file), 'utf8')).filter((i) => !i.typeOnly)).toEqual([]);
    }
  });
});
