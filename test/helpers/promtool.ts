// `promtool check metrics` (Debian package `prometheus`, installed by tools/install-deps.sh) on an
// exposition: Prometheus' own linter for names, types, help texts and the text format.
import { spawn } from 'node:child_process';

export function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 1, output }));
    p.stdin.end(text);
  });
}
