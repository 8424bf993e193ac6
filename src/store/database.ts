import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SoarError } from '../errors.js';
import { MIGRATIONS } from './migrations.js';

export type SqliteDatabase = Database.Database;
export type SqliteStatement = Database.Statement;

/**
 * Opens (creating if needed) soar's SQLite file: WAL so readers never block the runner,
 * synchronous FULL so a committed transaction survives a power cut, temporary files in memory,
 * migrations applied in order.
 */
export function openDatabase(file: string): SqliteDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let db: SqliteDatabase;
  try {
    db = new Database(file);
  } catch (error) {
    throw new SoarError('STORE_UNAVAILABLE', `cannot open the store ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (file !== ':memory:') chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Savepoints (a group commit's admissions, nested transactions) journal the pages they change;
  // on disk that journal is a file in /var/tmp, written with every admission's pages once more.
  db.pragma('temp_store = MEMORY');
  migrate(db);
  return db;
}

function migrate(db: SqliteDatabase): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  const refuseNewer = (applied: number) => {
    if (applied > MIGRATIONS.length) {
      throw new SoarError('STORE_TOO_NEW', `the store was written by a newer soar (schema ${applied}, this one knows ${MIGRATIONS.length}): upgrade soar`);
    }
  };
  const current = version();
  refuseNewer(current);
  if (current === MIGRATIONS.length) return;
  // Read again and migrate under the write lock: two soar processes opening a new store at once
  // (soar run twice on one alert) migrate it once; the second finds it done.
  db.transaction(() => {
    const applied = version();
    refuseNewer(applied);
    MIGRATIONS.slice(applied).forEach((sql, index) => {
      db.exec(sql);
      db.pragma(`user_version = ${applied + index + 1}`);
    });
  }).immediate();
}
