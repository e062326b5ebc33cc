import fs from 'node:fs';
import type { RunningSimulator } from '../simulator';
import type { GraphSnapshot } from '../simulator/graph-store';
import type { IncodeSnapshot } from '../simulator/incode-store';
import type { SentinelSnapshot } from '../simulator/sentinel-store';
import { writeFileAtomic } from './dev-state';

/**
 * DEV_PERSIST=1: the simulator's Sentinel (incidents, entities, comments, audit), Incode (directory, sessions,
 * deliveries) and Graph (users, groups, outbox) in one JSON file, so a verification left waiting finds its
 * incident and session again after a restart. Maps, Sets and Dates are tagged so they come back as such.
 */
const FORMAT = 'itdr-verify-simulator-state/1';

interface SimulatorSnapshot {
  format: typeof FORMAT;
  savedAt: string;
  sentinel: SentinelSnapshot;
  incode: IncodeSnapshot;
  graph: GraphSnapshot;
}

function encode(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, converted: unknown) {
    const original = this[key];
    if (original instanceof Date) return { $date: original.toISOString() };
    if (original instanceof Map) return { $map: [...original.entries()] };
    if (original instanceof Set) return { $set: [...original] };
    return converted;
  });
}

function decode(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const tagged = value as { $date?: string; $map?: Array<[unknown, unknown]>; $set?: unknown[] };
      const keys = Object.keys(value);
      if (keys.length === 1 && typeof tagged.$date === 'string') return new Date(tagged.$date);
      if (keys.length === 1 && Array.isArray(tagged.$map)) return new Map(tagged.$map);
      if (keys.length === 1 && Array.isArray(tagged.$set)) return new Set(tagged.$set);
    }
    return value;
  });
}

export function snapshotSimulator(simulator: RunningSimulator): string {
  const snapshot: SimulatorSnapshot = {
    format: FORMAT,
    savedAt: new Date().toISOString(),
    sentinel: simulator.sentinel.snapshot(),
    incode: simulator.incode.snapshot(),
    graph: simulator.graph.snapshot(),
  };
  return encode(snapshot);
}

/** Restores `file` into the simulator; false when there is no file yet. A file of another format is refused. */
export function restoreSimulator(simulator: RunningSimulator, file: string): boolean {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const snapshot = decode(text) as Partial<SimulatorSnapshot>;
  if (snapshot?.format !== FORMAT || !snapshot.sentinel || !snapshot.incode || !snapshot.graph) {
    throw new Error(`${file} is not a simulator state file (${FORMAT}); move it away to start with an empty simulator`);
  }
  simulator.sentinel.restore(snapshot.sentinel);
  simulator.incode.restore(snapshot.incode);
  simulator.graph.restore(snapshot.graph);
  return true;
}

export interface SimulatorPersistence {
  /** Writes the current state now (when it changed). */
  save(): void;
  /** Stops the periodic writes after a last one. */
  stop(): void;
}

/** Writes the state to `file` every `intervalMs` when it changed, atomically (a crash leaves the previous file). */
export function persistSimulator(simulator: RunningSimulator, file: string, intervalMs = 1_000): SimulatorPersistence {
  let written = '';
  const save = () => {
    const encoded = snapshotSimulator(simulator);
    // savedAt changes every time: compare without it.
    const comparable = encoded.replace(/"savedAt":"[^"]*"/, '');
    if (comparable === written) return;
    writeFileAtomic(file, encoded);
    written = comparable;
  };
  const timer = setInterval(() => {
    try {
      save();
    } catch (error) {
      process.stderr.write(`simulator state not saved to ${file}: ${(error as Error).message}\n`);
    }
  }, intervalMs);
  timer.unref();
  return {
    save,
    stop() {
      clearInterval(timer);
      save();
    },
  };
}
