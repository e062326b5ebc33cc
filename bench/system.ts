import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Memory of this process (simulator + worker + gateway + bench driver), after a full GC when available. */
export interface MemorySnapshot {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export function memorySnapshot(): MemorySnapshot {
  // `--expose-gc` is passed by run.ts when it re-spawns itself: collect first so heapUsed means live objects.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system) another process has used so far, from /proc; undefined off Linux. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** Resident memory of another process, from /proc; undefined off Linux. */
export function processRssBytes(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface PhaseUsage {
  wallSeconds: number;
  /** CPU seconds of this Node process (simulator + worker + gateway + driver). */
  nodeCpuSeconds: number;
  /** CPU seconds of the Temporal dev server. */
  temporalCpuSeconds?: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

/** Measures wall time, CPU of this process and of the Temporal server, and event-loop delay over one phase. */
export class PhaseMeter {
  private readonly started = performance.now();
  private readonly cpu = process.cpuUsage();
  private readonly temporalCpu: number | undefined;
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor(private readonly temporalPid: number) {
    this.temporalCpu = processCpuSeconds(temporalPid);
    this.loop.enable();
  }

  stop(): PhaseUsage {
    this.loop.disable();
    const cpu = process.cpuUsage(this.cpu);
    const temporalNow = processCpuSeconds(this.temporalPid);
    const toMs = (nanoseconds: number) => Math.round(nanoseconds / 1e5) / 10;
    return {
      wallSeconds: Math.round((performance.now() - this.started) / 10) / 100,
      nodeCpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      ...(temporalNow !== undefined && this.temporalCpu !== undefined
        ? { temporalCpuSeconds: Math.round((temporalNow - this.temporalCpu) * 100) / 100 }
        : {}),
      eventLoopDelayMs: { p50: toMs(this.loop.percentile(50)), p99: toMs(this.loop.percentile(99)), max: toMs(this.loop.max) },
    };
  }
}
