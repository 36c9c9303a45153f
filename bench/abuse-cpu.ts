import { readdir, readFile } from 'node:fs/promises';
import pg from 'pg';

/**
 * CPU time of a PostgreSQL server running on this machine, read from /proc: with a server
 * database, most of what a usage query costs is spent there, not in the App. The total of the
 * postmaster and all its children, live (utime + stime of each) and exited (the postmaster's
 * cutime + cstime, which collect what its reaped children used: backends that closed, parallel
 * workers). So it counts every database on that server, not only the benchmark's: on a machine
 * where something else uses the server meanwhile, the figure includes it.
 */

/** /proc reports times in USER_HZ, which is 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export interface CpuMeter {
  /** The server's total CPU time so far, in ms. */
  sample(): Promise<number>;
  description: string;
}

interface ProcStat {
  ppid: number;
  ownMs: number;
  reapedMs: number;
}

async function readStat(pid: number | string): Promise<ProcStat | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may contain spaces: fields are counted after it.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = (i: number) => Number(fields[i]);
    // Fields 4 (ppid), 14-17 (utime, stime, cutime, cstime) of proc(5), counted from 3 here.
    return {
      ppid: ticks(1),
      ownMs: ((ticks(11) + ticks(12)) * 1000) / TICKS_PER_SECOND,
      reapedMs: ((ticks(13) + ticks(14)) * 1000) / TICKS_PER_SECOND,
    };
  } catch {
    return null;
  }
}

/** The meter for the server in `serverUrl`, or null when it is not on this machine (or /proc is unreadable). */
export async function postgresCpuMeter(serverUrl: string): Promise<CpuMeter | null> {
  if (!LOOPBACK.has(new URL(serverUrl).hostname)) return null;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  let backend: number;
  try {
    backend = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    // Read while the connection is open: the backend exits with it.
    const comm = await readFile(`/proc/${backend}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'postgres') return null;
    const stat = await readStat(backend);
    if (!stat) return null;
    return meterOf(stat.ppid);
  } finally {
    await client.end();
  }
}

function meterOf(postmaster: number): CpuMeter {
  return {
    description: `PostgreSQL server processes (postmaster pid ${postmaster} and its children, every database)`,
    sample: async () => {
      const root = await readStat(postmaster);
      if (!root) throw new Error(`the PostgreSQL postmaster (pid ${postmaster}) is gone`);
      const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
      const stats = await Promise.all(pids.map((pid) => readStat(pid)));
      const children = stats.filter((stat) => stat?.ppid === postmaster).reduce((sum, stat) => sum + stat!.ownMs, 0);
      return root.ownMs + root.reapedMs + children;
    },
  };
}
