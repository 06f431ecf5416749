// Killing Chromium for the crash tests (not a test file itself): SIGKILL every process of the
// Chromium on one profile, wait until they are gone, and read what it logged; the IndexedDB
// backing stores to run on, and how Chromium says it deleted a database.
import fs from 'node:fs';
import path from 'node:path';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Live (not zombie) processes whose command line contains `needle`, as { pid, ppid }. */
function processesWith(needle) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) continue;
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z' && state !== 'X') found.push({ pid: Number(entry), ppid: Number(ppid) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * SIGKILL every process of the Chromium running on `profile`: the browser process (the one
 * whose parent is not itself a process of this profile) first, then the rest (zygotes,
 * renderers, GPU, network and storage services). Every one of them carries
 * `--user-data-dir=<profile>` on its command line. Returns the browser process's PID.
 */
export function killChromium(profile) {
  const procs = processesWith(`--user-data-dir=${profile}`);
  const pids = new Set(procs.map((p) => p.pid));
  const browsers = procs.filter((p) => !pids.has(p.ppid));
  for (const p of [...browsers, ...procs.filter((q) => !browsers.includes(q))]) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch (err) {
      if (err.code !== 'ESRCH') throw err;
    }
  }
  return browsers.map((p) => p.pid);
}

export async function waitGone(profile, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processesWith(`--user-data-dir=${profile}`);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`Chromium processes left after SIGKILL: ${left.map((p) => p.pid).join(', ')}`);
    killChromium(profile);
    await sleep(50);
  }
}

/**
 * Chromium's IndexedDB backing stores. LevelDB is the default. Killed between writing a log
 * record's header and its payload, it leaves a record cut short at the end of its log; the
 * next session drops that record but reuses the log and appends after it (`reuse_logs`,
 * google/leveldb#1287), so the session after that reads "Corruption: checksum mismatch",
 * and Chromium deletes the origin's database and starts an empty one, logging
 * CHROMIUM_DELETED_DATABASE. On LevelDB the test counts those deletions (everything
 * acknowledged before one is gone with it); between them every acknowledged append must be
 * there. On SQLite there must be none.
 */
export const BACKENDS = {
  leveldb: { name: "LevelDB (Chromium's default)", args: [] },
  sqlite: { name: 'SQLite (--enable-features=IdbSqliteBackingStore)', args: ['--enable-features=IdbSqliteBackingStore'] },
};
export const CHROMIUM_DELETED_DATABASE = /IndexedDB recovering from a corrupted \(and deleted\) database/;

/** What Chromium logged since it was launched (`--enable-logging` writes it into the profile). */
export function chromiumLog(profile) {
  try {
    return fs.readFileSync(path.join(profile, 'chrome_debug.log'), 'utf8');
  } catch {
    return '';
  }
}
