import { spawn } from 'node:child_process';
import path from 'node:path';
import { devBanner, startDevStack, type DevStack } from './dev/dev-stack';
import { cacheDir, devStateDir } from '../src/doctor/dev-stack-record';
import { ensureDevCertificates } from './simulator/tls';

/**
 * `npm run dev`: the Temporal dev server with its Web UI, the simulator, a worker and the gateway, in one
 * command, with this machine's dev identity (secrets kept in the dev state folder) on stable ports.
 * Environment: DEV_TEMPORAL_PORT (7233), DEV_TEMPORAL_UI_PORT (8233), GATEWAY_PORT (8080), DEV_SIMULATOR_PORT
 * (8441: the first of nine, one per simulated service), DEV_STATE_DIR (~/.cache/itdr-verify/dev), DEV_PERSIST=1 to keep Temporal's history
 * and the simulator's state across runs, DEV_INCODE_USERS (comma-separated extra emails the simulated Incode
 * directory knows), and any gateway/worker variable (e.g. VERIFICATION_TIMEOUT). The threat-intelligence sync runs
 * against a seeded feed (TI_SYNC_* pass through; DEV_TI_SYNC=0 turns it off).
 */
function port(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65_535) throw new Error(`${name}: must be a port number (1-65535), got "${raw}"`);
  return value;
}

async function main(): Promise<void> {
  const certificates = ensureDevCertificates(path.join(cacheDir(), 'tls'));
  // Node reads NODE_EXTRA_CA_CERTS only at start-up: run again with it so the SDKs trust the simulator.
  if (process.env.NODE_EXTRA_CA_CERTS !== certificates.caCertPath) {
    const child = spawn(process.execPath, process.argv.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certificates.caCertPath },
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    child.on('exit', (code) => process.exit(code ?? 0));
    return;
  }

  const options = {
    stateDir: devStateDir(),
    persist: process.env.DEV_PERSIST === '1',
    temporalPort: port('DEV_TEMPORAL_PORT', 7233),
    temporalUiPort: port('DEV_TEMPORAL_UI_PORT', 8233),
    gatewayPort: port('GATEWAY_PORT', 8080),
    simulatorBasePort: port('DEV_SIMULATOR_PORT', 8441),
    extraUsers: (process.env.DEV_INCODE_USERS ?? '')
      .split(',')
      .map((user) => user.trim())
      .filter(Boolean),
    env: Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] =>
          /^(VERIFICATION_|RESULT_|LINK_|CLOSE_|ESCALATION_|FAILURE_|REVIEW_|LOG_LEVEL|INCODE_WEBHOOK_AUTH$|INCODE_WEBHOOK_TOKEN_TTL$|TI_SYNC_)/.test(
            entry[0],
          ) && entry[1] !== undefined,
      ),
    ),
    logLevel: process.env.LOG_LEVEL ?? 'info',
    tiSyncDemo: process.env.DEV_TI_SYNC !== '0',
  };

  let dev: DevStack | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    await dev?.stop().catch(() => undefined);
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(0));

  console.log(`Starting the Temporal dev server${options.persist ? ' (DEV_PERSIST=1)' : ''}…`);
  dev = await startDevStack(options);
  console.log(devBanner(dev));
}

main().catch((error: unknown) => {
  console.error(`npm run dev failed: ${error instanceof Error && error.stack ? error.stack : String(error)}`);
  process.exit(1);
});
