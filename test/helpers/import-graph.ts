// The import graph of our own source files, and the two checks the architecture test makes of it:
// every import runs along the layers (openflow <- controller <- apps <- tools, db below apps), and
// no files import each other in a circle. Pure functions over a graph, so the checker itself is
// tested on small made-up graphs (test/unit/architecture.test.ts).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface ImportEdge {
  /** Path of the imported file relative to the root, with '/' separators. */
  to: string;
  /** `import type` / `export type`, or every named binding marked `type`: gone after compiling. */
  typeOnly: boolean;
}

/** File (relative to the root, '/' separators) → its imports of our own files. */
export type ImportGraph = Map<string, ImportEdge[]>;

export interface RawImport { spec: string; typeOnly: boolean }

// `import x from 'a'`, `import { a, type b } from 'a'`, `import type X from 'a'`, `import 'a'`,
// `export * from 'a'`, `export { a } from 'a'`, `export type { A } from 'a'`, and `import('a')`.
const STATIC = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The module specifiers a TypeScript source imports or re-exports. Comments are ignored. */
export function parseImports(source: string): RawImport[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: RawImport[] = [];
  for (const m of text.matchAll(STATIC)) {
    if (m[5] !== undefined) {
      out.push({ spec: m[5], typeOnly: false });
      continue;
    }
    const clause = m[3] ?? '';
    const named = /^\{([^}]*)\}$/.exec(clause.trim());
    const names = named ? named[1]!.split(',').map((s) => s.trim()).filter(Boolean) : [];
    const allTyped = names.length > 0 && names.every((n) => n.startsWith('type '));
    out.push({ spec: m[4]!, typeOnly: m[2] !== undefined || allTyped });
  }
  for (const m of text.matchAll(DYNAMIC)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const posix = (p: string): string => p.split(sep).join('/');

/** Reads every .ts under `folders` of `root`; relative imports become edges ('.js' means '.ts'). */
export function readImportGraph(root: string, folders: readonly string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const folder of folders) {
    for (const file of tsFiles(join(root, folder))) {
      const edges: ImportEdge[] = [];
      for (const imp of parseImports(readFileSync(file, 'utf8'))) {
        if (!imp.spec.startsWith('.')) continue; // a package (node:, ws, ...): not ours
        const target = resolve(dirname(file), imp.spec).replace(/\.js$/, '.ts');
        edges.push({ to: posix(relative(root, target)), typeOnly: imp.typeOnly });
      }
      graph.set(posix(relative(root, file)), edges);
    }
  }
  return graph;
}

/** Which top folders a file of each layer may import (its own folder is always allowed). */
export type LayerRules = Record<string, readonly string[]>;

export interface Violation { from: string; to: string; why: string }

const layerOf = (file: string): string => file.split('/')[0]!;

/** Imports that run against the layers: a file importing a layer its own may not. */
export function layerViolations(graph: ImportGraph, rules: LayerRules): Violation[] {
  const out: Violation[] = [];
  for (const [from, edges] of graph) {
    const layer = layerOf(from);
    const allowed = rules[layer];
    if (allowed === undefined) {
      out.push({ from, to: '', why: `${layer}/ has no layer rule` });
      continue;
    }
    for (const e of edges) {
      const target = layerOf(e.to);
      if (target !== layer && !allowed.includes(target)) {
        out.push({ from, to: e.to, why: `${layer}/ may import ${allowed.length ? allowed.join(', ') : 'nothing of ours'}, not ${target}/` });
      }
    }
  }
  return out;
}

/** Groups of files that import each other in a circle (strongly connected, Tarjan), each sorted. */
export function importCycles(graph: ImportGraph, opts: { includeTypeOnly: boolean }): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  const succ = (v: string): string[] => (graph.get(v) ?? []).filter((e) => opts.includeTypeOnly || !e.typeOnly).map((e) => e.to);
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of succ(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || succ(v).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}
