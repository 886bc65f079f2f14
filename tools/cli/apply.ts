// `holdfast apply -f FILE [--dry-run]` and `holdfast export`: the declarative configuration, through
// the ordinary API routes. The file is parsed and checked against the live state before anything
// is sent: a file with problems changes nothing and gets one line per problem, with its line.
import { readFileSync } from 'node:fs';
import type { ServiceView } from '../../apps/lb/control.js';
import { exportConfig, parseConfig, type Problem } from '../../apps/lb/config-file.js';
import { formatPlan, planApply, type Plan, type PlanStep } from '../../apps/lb/apply-plan.js';
import { backendPath, servicePath, type ApiClient } from './client.js';
import { CliError, ProblemsReported } from './errors.js';

export interface ApplyOptions {
  file: string;
  dryRun: boolean;
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
}

function report(file: string, problems: readonly Problem[], err: (t: string) => void): never {
  for (const p of problems) err(`holdfast: ${file}${p.line > 0 ? `:${p.line}` : ''}: ${p.message}`);
  throw new ProblemsReported(problems.length);
}

export async function runApply(client: ApiClient, o: ApplyOptions): Promise<void> {
  let text: string;
  try {
    text = o.file === '-' ? readFileSync(0, 'utf8') : readFileSync(o.file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${o.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const parsed = parseConfig(text);
  if (!parsed.config) report(o.file, parsed.problems, o.err);
  const live = await client.get<ServiceView[]>('/services');
  const plan = planApply(parsed.config, live);
  if (plan.problems.length > 0) report(o.file, plan.problems, o.err);
  if (o.dryRun) {
    o.out(o.json ? JSON.stringify({ dryRun: true, ...plan }, null, 2) : formatPlan(plan));
    return;
  }
  const done: PlanStep[] = [];
  for (const step of plan.steps) {
    try {
      await carryOut(client, step);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new CliError(`${describe(step)} failed after ${done.length} of ${plan.steps.length} changes: ${msg}`);
    }
    done.push(step);
    if (!o.json) o.out(describe(step));
  }
  if (o.json) o.out(JSON.stringify({ dryRun: false, ...plan }, null, 2));
  else o.out(summary(plan));
}

function describe(step: PlanStep): string {
  return formatPlan({ steps: [step], notes: [], problems: [] }).split('\n')[0]!;
}

function summary(plan: Plan): string {
  const lines = plan.notes.map((n) => `! ${n}`);
  lines.push(plan.steps.length === 0 ? 'no changes: the live state equals the file' : `applied ${plan.steps.length} change(s)`);
  return lines.join('\n');
}

async function carryOut(client: ApiClient, s: PlanStep): Promise<void> {
  switch (s.op) {
    case 'add-service':
      await client.post('/services', s.spec);
      return;
    case 'update-service':
      await client.call('PATCH', servicePath(s.service), s.settings);
      return;
    case 'add-backend':
      await client.post(`${servicePath(s.service)}/backends`, s.spec);
      return;
    case 'set-weight':
      await client.put(`${backendPath(s.service, s.key)}/weight`, { weight: s.to });
      return;
    case 'enable-backend':
      await client.post(`${backendPath(s.service, s.key)}/enable`);
      return;
    case 'drain-backend':
      await client.post(`${backendPath(s.service, s.key)}/drain`);
      return;
    case 'remove-backend':
      await client.delete(`${backendPath(s.service, s.key)}${s.now ? '?now=1' : ''}`);
      return;
    case 'remove-service':
      await client.delete(servicePath(s.service));
      return;
  }
}

export async function runExport(client: ApiClient, out: (text: string) => void): Promise<void> {
  out(exportConfig(await client.get<ServiceView[]>('/services')));
}
