import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Memory of this process (simulator + gateway + bench driver, and the worker unless it runs in its own process),
 * after a full GC when available.
 */
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

/** Resident memory of a process (VmRSS, or VmHWM: its peak so far), from /proc; undefined off Linux. */
export function processRssBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples the RSS of some processes every `intervalMs` and keeps each one's highest value. */
export class RssSampler {
  private readonly peaks = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: readonly number[],
    intervalMs = 1_000,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    for (const pid of this.pids) {
      const rss = pid === process.pid ? process.memoryUsage.rss() : processRssBytes(pid);
      if (rss !== undefined) this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, rss));
    }
  }

  /** The highest RSS seen of `pid` so far (sampling goes on until stop()). */
  peak(pid: number): number | undefined {
    return this.peaks.get(pid);
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

export interface PhaseUsage {
  wallSeconds: number;
  /** CPU seconds of this Node process (simulator + gateway + driver, and the worker unless it runs in its own process). */
  nodeCpuSeconds: number;
  /** CPU seconds of the Temporal dev server. */
  temporalCpuSeconds?: number;
  /** CPU seconds of the worker, when it runs in its own process (scale phase). */
  workerCpuSeconds?: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

/** Measures wall time, CPU of this process and of the Temporal server, and event-loop delay over one phase. */
export class PhaseMeter {
  private readonly started = performance.now();
  private readonly cpu = process.cpuUsage();
  private readonly temporalCpu: number | undefined;
  private readonly workerCpu: number | undefined;
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor(
    private readonly temporalPid: number,
    private readonly workerPid?: number,
  ) {
    this.temporalCpu = processCpuSeconds(temporalPid);
    this.workerCpu = workerPid === undefined ? undefined : processCpuSeconds(workerPid);
    this.loop.enable();
  }

  stop(): PhaseUsage {
    this.loop.disable();
    const cpu = process.cpuUsage(this.cpu);
    const temporalNow = processCpuSeconds(this.temporalPid);
    const workerNow = this.workerPid === undefined ? undefined : processCpuSeconds(this.workerPid);
    const toMs = (nanoseconds: number) => Math.round(nanoseconds / 1e5) / 10;
    return {
      wallSeconds: Math.round((performance.now() - this.started) / 10) / 100,
      nodeCpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      ...(temporalNow !== undefined && this.temporalCpu !== undefined
        ? { temporalCpuSeconds: Math.round((temporalNow - this.temporalCpu) * 100) / 100 }
        : {}),
      ...(workerNow !== undefined && this.workerCpu !== undefined
        ? { workerCpuSeconds: Math.round((workerNow - this.workerCpu) * 100) / 100 }
        : {}),
      eventLoopDelayMs: { p50: toMs(this.loop.percentile(50)), p99: toMs(this.loop.percentile(99)), max: toMs(this.loop.max) },
    };
  }
}
