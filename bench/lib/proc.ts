/** The machine a benchmark ran on, and another process's resource use read from /proc (Linux). */
import fs from 'node:fs';
import os from 'node:os';

/** What every benchmark result records about the machine (load averages are added by each benchmark). */
export function machineBasics(): {
  cpus: string[];
  cpuCount: number;
  node: string;
  platform: string;
  memoryBytes: number;
} {
  const cpus = os.cpus();
  return {
    cpus: cpus.map((c) => c.model),
    cpuCount: cpus.length,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryBytes: os.totalmem(),
  };
}

/** CPU seconds (user + system) a process has used so far (USER_HZ = 100); 0 when it is gone or unknown. */
export function procCpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** Resident set size of a process in bytes, or undefined when it is gone or unknown. */
export function procRssBytes(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
