// A lab's state file and its teardown. Teardown is synchronous on purpose: the same code serves
// stop(), the owner's exit/signal hook (where nothing async can run) and stale-lab cleanup.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_ID_RE, LAB_NETNS_RE, labRoot } from './plan.js';
import { pidAlive, processStartTime, runSync, sleepSync } from './proc.js';

export interface LabState {
  version: 1;
  id: string;
  name?: string;
  ownerPid: number;
  /** Start time of the owner process, so a reused PID is not taken for the owner. */
  ownerStart?: string;
  createdAt: string;
  runDir: string;
  /** Written before any of them is created, so a crash mid-start still gets them removed. */
  namespaces: string[];
}

export const STATE_FILE = 'state.json';

export function writeState(state: LabState): void {
  mkdirSync(state.runDir, { recursive: true });
  const tmp = join(state.runDir, `${STATE_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, join(state.runDir, STATE_FILE));
}

export function readState(dir: string): LabState | undefined {
  try {
    const s = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as LabState;
    return s.version === 1 && LAB_ID_RE.test(s.id) && Array.isArray(s.namespaces) ? s : undefined;
  } catch {
    return undefined;
  }
}

function netnsPids(ns: string): number[] {
  const r = runSync('ip', ['netns', 'pids', ns]);
  if (r.code !== 0) return [];
  return r.stdout.split('\n').map((l) => Number(l.trim())).filter((p) => Number.isInteger(p) && p > 0 && p !== process.pid);
}

function signalAll(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try { process.kill(pid, sig); } catch { /* already gone */ }
  }
}

function waitGone(pids: number[], ms: number): number[] {
  const deadline = Date.now() + ms;
  let alive = pids.filter(pidAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    sleepSync(20);
    alive = alive.filter(pidAlive);
  }
  return alive;
}

/** Existing network namespaces (names only). */
export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/**
 * Removes everything a lab made: every process inside its namespaces (daemons, socat proxies,
 * host programs), the namespaces (and with them the veths and taps), stray links named after the
 * lab in the root namespace, and the run directory. Never throws.
 */
export function teardownSync(lab: { id: string; runDir: string; namespaces: string[] }): void {
  try {
    const existing = new Set(listNetns());
    const namespaces = lab.namespaces.filter((ns) => existing.has(ns));
    const pids = [...new Set(namespaces.flatMap(netnsPids))];
    signalAll(pids, 'SIGTERM');
    const stubborn = waitGone(pids, 1500);
    if (stubborn.length > 0) {
      signalAll(stubborn, 'SIGKILL');
      waitGone(stubborn, 1000);
    }
    for (const ns of namespaces) runSync('ip', ['netns', 'del', ns]);
    const links = runSync('ip', ['-o', 'link', 'show']).stdout.split('\n');
    for (const line of links) {
      const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
      if (name?.startsWith(lab.id)) runSync('ip', ['link', 'del', name]);
    }
  } catch {
    // Best effort: teardown runs in exit hooks and must not throw.
  }
  try { rmSync(lab.runDir, { recursive: true, force: true }); } catch { /* best effort */ }
}

function ownerAlive(s: LabState): boolean {
  if (!pidAlive(s.ownerPid)) return false;
  return s.ownerStart === undefined || processStartTime(s.ownerPid) === s.ownerStart;
}

/** A lab directory without a readable state file is only abandoned once it is this old. */
const ORPHAN_DIR_GRACE_MS = 60_000;

/** Removes labs whose owner process is gone, and lab namespaces whose lab directory is gone. */
export function cleanupStaleLabsSync(): string[] {
  const root = labRoot();
  const removed: string[] = [];
  let entries: string[] = [];
  try { entries = readdirSync(root); } catch { /* no labs yet */ }
  for (const entry of entries) {
    if (!LAB_ID_RE.test(entry)) continue;
    const dir = join(root, entry);
    const state = readState(dir);
    if (state) {
      if (ownerAlive(state)) continue;
    } else {
      try {
        if (Date.now() - statSync(dir).mtimeMs < ORPHAN_DIR_GRACE_MS) continue;
      } catch {
        continue;
      }
    }
    // Claim the lab by renaming its directory, so two cleaners never tear down the same lab.
    const claimed = join(root, `${entry}.cleaning-${process.pid}`);
    try { renameSync(dir, claimed); } catch { continue; }
    teardownSync({ id: entry, runDir: claimed, namespaces: state?.namespaces ?? listNetns().filter((ns) => ns.startsWith(`${entry}-`)) });
    removed.push(entry);
  }
  // Namespaces are created only after their lab's directory exists, so one without a directory is
  // left over from a crash during teardown. List namespaces before directories so a lab being
  // created right now is never mistaken for an orphan.
  const namespacesNow = listNetns();
  const live = new Set<string>();
  try { for (const e of readdirSync(root)) live.add(e.slice(0, 8)); } catch { /* none */ }
  const orphans = new Map<string, string[]>();
  for (const ns of namespacesNow) {
    const id = LAB_NETNS_RE.exec(ns)?.[1];
    if (id && !live.has(id)) orphans.set(id, [...(orphans.get(id) ?? []), ns]);
  }
  for (const [id, namespaces] of orphans) {
    teardownSync({ id, runDir: join(root, `${id}.orphan`), namespaces });
    if (!removed.includes(id)) removed.push(id);
  }
  // Directories of cleaners that died mid-way.
  try {
    for (const e of readdirSync(root)) {
      const m = /^(hf[0-9a-f]{6})\.cleaning-(\d+)$/.exec(e);
      if (m && !pidAlive(Number(m[2]))) teardownSync({ id: m[1], runDir: join(root, e), namespaces: readState(join(root, e))?.namespaces ?? [] });
    }
  } catch { /* none */ }
  return removed;
}

export function labDirExists(id: string): boolean {
  return existsSync(join(labRoot(), id));
}
