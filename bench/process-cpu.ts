// CPU time of the servers a benchmark starts (PostgreSQL, nats-server), read from Linux's /proc: on a
// shared machine, CPU time per event says more than wall time, which depends on what else runs.
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** The fields of /proc/<pid>/stat after the command name. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // the process is gone
  }
}

/**
 * CPU time in ms of process `pid` (all its threads) and of its children: those that exited and were
 * waited for, and those still running (PostgreSQL's backends).
 */
export function treeCpuMs(pid: number): number {
  const own = statFields(pid);
  if (own === undefined) return 0;
  // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
  let ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(own[i]), 0);
  for (const entry of readdirSync("/proc")) {
    const child = Number(entry);
    if (!Number.isInteger(child)) continue;
    const fields = statFields(child);
    if (fields !== undefined && Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** The process id of the running program whose command line holds every one of `args`, if one does. */
export function findProcess(args: readonly string[]): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (args.every((a) => cmdline.includes(a))) return Number(entry);
    } catch {
      // ended meanwhile
    }
  }
  return undefined;
}
