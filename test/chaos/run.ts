/**
 * `npm run chaos`: the fault test with a few hundred incidents (CHAOS_INCIDENTS, default 200).
 * Starts and stops its own Temporal dev server (SQLite file in a temp dir); exits non-zero on any failed check.
 * Environment: CHAOS_INCIDENTS, CHAOS_CONCURRENCY (40), CHAOS_WORKER_KILLS (5), CHAOS_TIMEOUT_SECONDS (20),
 * CHAOS_POLL_INTERVAL ('2s'), CHAOS_DEADLINE_MINUTES (20), CHAOS_SEED.
 */
import { spawn } from 'node:child_process';
import { chaosCaCertPath, formatCounts, runChaos } from './scenario';

async function main(): Promise<number> {
  const caCertPath = chaosCaCertPath();
  // Node reads NODE_EXTRA_CA_CERTS only at start-up: run again with it so the SDKs trust the simulator (as tools/dev.ts).
  if (process.env.NODE_EXTRA_CA_CERTS !== caCertPath) {
    const child = spawn(process.execPath, process.argv.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caCertPath },
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  }
  const number = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
  const report = await runChaos({
    incidents: number('CHAOS_INCIDENTS', 200),
    concurrency: number('CHAOS_CONCURRENCY', 40),
    startIntervalMs: number('CHAOS_START_INTERVAL_MS', 400),
    workerKills: number('CHAOS_WORKER_KILLS', 5),
    verificationTimeoutSeconds: number('CHAOS_TIMEOUT_SECONDS', 20),
    resultPollInterval: process.env.CHAOS_POLL_INTERVAL ?? '2s',
    deadlineMs: number('CHAOS_DEADLINE_MINUTES', 20) * 60_000,
    seed: process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : undefined,
  });
  console.log(`\nchaos run\n${formatCounts(report.counts)}\n`);
  if (report.failures.length > 0) {
    console.log(`FAILED: ${report.failures.length} check(s)`);
    for (const failure of report.failures.slice(0, 50)) console.log(`  - ${failure}`);
    if (report.failures.length > 50) console.log(`  … and ${report.failures.length - 50} more`);
    return 1;
  }
  console.log('OK: every incident reached its planned state exactly once, no duplicate comments, nothing lost');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`chaos run failed: ${error instanceof Error && error.stack ? error.stack : String(error)}`);
    process.exit(1);
  },
);
