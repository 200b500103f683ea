/**
 * Embedded PostgreSQL (PGlite, PostgreSQL in wasm) for machines without a database server: the data
 * lives under DATA_DIR and is served on a unix socket so Prisma, pg and Agenda connect unchanged.
 * PGlite has no lock of its own and a second process on the same directory would corrupt it, so we
 * hold a pid lock file and also refuse when the socket already answers.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, existsSync, chmodSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** Unix socket paths are limited to ~104 bytes on common platforms. */
const MAX_SOCKET_PATH = 103;

export class DataDirLockedError extends Error {}

export interface EmbeddedDatabase {
  url: string;
  close(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function acquireLock(lockPath: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lockPath, 'utf8') === String(process.pid)) unlinkSync(lockPath);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(lockPath, 'utf8').trim());
      if (pid && pid !== process.pid && pidAlive(pid)) {
        throw new DataDirLockedError(
          `the embedded database in ${path.dirname(lockPath)} is in use by another WhaleFall process (pid ${pid}); ` +
            'stop it first, or set DATA_DIR to another directory, or DATABASE_URL to a PostgreSQL server',
        );
      }
      unlinkSync(lockPath); // stale lock from a process that died
    }
  }
  throw new DataDirLockedError(`could not lock ${lockPath}`);
}

function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startEmbeddedPostgres(dataDir: string, maxConnections = 64): Promise<EmbeddedDatabase> {
  const dir = path.resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // any user/password is accepted on the socket: only we may reach it
  const socketPath = path.join(dir, '.s.PGSQL.5432');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new Error(`DATA_DIR path is too long for a unix socket (${socketPath}); use a shorter DATA_DIR`);
  }
  const release = acquireLock(path.join(dir, 'whalefall.lock'));
  try {
    if (existsSync(socketPath)) {
      if (await socketAnswers(socketPath)) {
        throw new DataDirLockedError(`the embedded database socket ${socketPath} is already served by another process`);
      }
      unlinkSync(socketPath);
    }
    const db = await PGlite.create({ dataDir: path.join(dir, 'pgdata'), extensions: { pg_trgm } });
    const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections });
    await server.start();
    return {
      url: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`,
      close: async () => {
        await server.stop().catch(() => {});
        await db.close().catch(() => {});
        release();
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}
