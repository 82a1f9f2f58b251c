// A PostgreSQL server for the benchmarks: Debian's PostgreSQL, a cluster kept in
// bench/.data/postgres (so the generated million responses are made once), on
// 127.0.0.1 only, pinned with the app servers to core 0. Started and stopped by
// bench/run.ts; nothing else uses it.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

export interface BenchPostgres {
  /** The URL of a database on the server. */
  url: (database: string) => string;
  /** Whether the database exists. */
  has: (database: string) => Promise<boolean>;
  /** Drops (if there) and creates an empty database. */
  fresh: (database: string) => Promise<string>;
  stop: () => void;
}

/** Where Debian puts the server programs, or undefined when PostgreSQL is not installed. */
export function postgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(a) - Number(b));
  const latest = versions.pop();
  return latest ? join(base, latest, 'bin') : undefined;
}

export async function startPostgres(dataDir: string, port: number, pinned: (args: string[]) => string[]) {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql');
  const data = join(dataDir, 'postgres');
  const root = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
  const as = (command: string, args: string[]) =>
    root ? ['runuser', '-u', 'postgres', '--', command, ...args] : [command, ...args];
  const run = (command: string, args: string[]) => {
    const [program, ...rest] = as(command, args) as [string, ...string[]];
    const result = spawnSync(program, rest, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`);
  };
  if (!existsSync(join(data, 'PG_VERSION'))) {
    mkdirSync(data, { recursive: true });
    if (root) chownSync(data, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 0);
    run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8']);
  }
  const settings = [
    `-c listen_addresses=127.0.0.1`,
    `-c port=${port}`,
    `-c unix_socket_directories=${data}`,
    '-c max_connections=200',
    '-c shared_buffers=512MB',
    // The product's own settings that matter (README, "Running at scale"): every commit durable.
    '-c synchronous_commit=on',
    '-c fsync=on',
  ].join(' ');
  const [program, ...args] = pinned(
    as(join(bin, 'pg_ctl'), ['-D', data, '-l', join(data, 'server.log'), '-w', '-o', settings, 'start']),
  ) as [string, ...string[]];
  // A server left running on the cluster (by an interrupted run, say) is used as it is, and left running.
  const [status, ...statusArgs] = as(join(bin, 'pg_ctl'), ['-D', data, 'status']) as [string, ...string[]];
  const running = spawnSync(status, statusArgs).status === 0;
  if (!running) {
    const started = spawnSync(program, args, { encoding: 'utf8' });
    if (started.status !== 0) throw new Error(`PostgreSQL did not start: ${started.stderr || started.stdout}`);
  }
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const admin = new pg.Pool({ connectionString: url('postgres'), max: 1 });
  const server: BenchPostgres = {
    url,
    has: async (database) =>
      (await admin.query('select 1 from pg_database where datname = $1', [database])).rowCount === 1,
    fresh: async (database) => {
      await admin.query(`drop database if exists ${database} with (force)`);
      await admin.query(`create database ${database}`);
      return url(database);
    },
    stop: () => {
      void admin.end();
      if (running) return;
      const [stopper, ...stopArgs] = as(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']) as [
        string,
        ...string[],
      ];
      spawnSync(stopper, stopArgs);
    },
  };
  return server;
}
