// `holdfast db backup` and `holdfast db check`: they work on the state file itself, not through the
// API, because a backup is the operator's safety net for the day the controller cannot start.
// SQLite's online backup makes that safe while a controller is running on the same file.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { backupDatabase, inspectDatabase, type DbSummary } from '../../db/backup.js';
import { CliError } from './errors.js';

const DEFAULT_DB = './holdfast.db';

function describe(s: DbSummary): string {
  return `${s.services} services, ${s.backends} backends, ${s.events} events (schema ${s.schemaVersion}, ${s.bytes} bytes)`;
}

/** Store errors already name the file and say what to do: pass them on as the CLI's one line. */
async function asCliError<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
}

export function addDbCommands(program: Command): void {
  const db = program.command('db').description('back up and check the state file (works while the controller runs)');

  db.command('backup <file>')
    .description('copy the state file to FILE through SQLite\'s online backup, then verify the copy')
    .option('--db <file>', 'the state file to back up', DEFAULT_DB)
    .option('--force', 'replace FILE if it exists')
    .option('--json', 'machine-readable JSON output')
    .action(async (file: string, o: { db: string; force?: boolean; json?: boolean }) => {
      if (resolve(file) === resolve(o.db)) throw new CliError(`the backup file ${file} is the state file itself: choose another name`);
      const s = await asCliError(() => backupDatabase(o.db, file, o.force === true));
      process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `backup of ${o.db} written to ${file}: ${describe(s)}\n`);
    });

  db.command('check')
    .description('check that the state file is a sound Holdfast database and say what it holds')
    .option('--db <file>', 'the state file', DEFAULT_DB)
    .option('--json', 'machine-readable JSON output')
    .action(async (o: { db: string; json?: boolean }) => {
      const s = await asCliError(() => inspectDatabase(o.db));
      process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${o.db}: a Holdfast database, ${describe(s)}\n`);
    });
}
